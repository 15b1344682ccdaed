// Nest's two loggers (@nestjs/common services/logger.service.js and console-logger.service.js) each
// build an Intl.DateTimeFormat when their module loads, for the timestamp of a line they print. The
// first one costs ~15-25 ms (ICU loads its locale data), on every start, and this service never
// prints through them (its logger is pino's). In the bundle (scripts/bundle.mjs) each becomes an
// object with the same `format` that builds the formatter on its first call. Refuses a source that
// no longer has that shape: one `const dateTimeFormatter = new Intl.DateTimeFormat(`, and the name
// used for nothing but `.format(`.
const DECLARATION = 'const dateTimeFormatter = new Intl.DateTimeFormat(';

export const LAZY_DATE_TIME_FORMAT =
  'const lazyDateTimeFormat = (...args) => { let formatter; return { format: (date) => (formatter ??= new Intl.DateTimeFormat(...args)).format(date) }; };';

export function lazyDateTimeFormatters(source) {
  const declarations = source.split(DECLARATION).length - 1;
  const uses = source.match(/\bdateTimeFormatter\b(\.\w+\()?/g) ?? [];
  const formatCalls = uses.filter((use) => use === 'dateTimeFormatter.format(').length;
  if (declarations !== 1 || formatCalls !== uses.length - 1) {
    throw new Error(`expected one "${DECLARATION}" and only .format() calls of it: found ${declarations} and ${uses.join(', ')}`);
  }
  return `${LAZY_DATE_TIME_FORMAT}\n${source.replace(DECLARATION, 'const dateTimeFormatter = lazyDateTimeFormat(')}`;
}
