import { CommonErrorCode, DomainError, unavailable } from '../common/errors/domain-error.js';
import { pgCode } from './pg-errors.js';

/**
 * PostgreSQL SQLSTATEs (and pool / socket errors) meaning "cannot be served now", not "bug". 25006
 * (read_only_sql_transaction): the primary became a standby or was set read-only (a failover under
 * way); every write had been a 500.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '53300',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '55P03',
  '57014',
  '25006',
]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
// "Driver not Connected": TypeORM after its DataSource was destroyed (shutting down)
const UNAVAILABLE_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|connection is insecure|too many clients|not queryable|Cannot use a pool after calling end|Driver not Connected/i;
/**
 * TypeORM's errors when a transaction's query runner was released under it: the pg connection broke
 * (server gone, connection terminated) and the runner was given back while the work still ran.
 */
const UNAVAILABLE_ERROR_NAMES = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/** Is this a database that cannot answer right now (as opposed to a query that is wrong)? */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = pgCode(err);
  if (code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  if (!(err instanceof Error)) return false;
  return (
    UNAVAILABLE_ERROR_NAMES.has(err.name) || UNAVAILABLE_ERROR_NAMES.has(err.constructor.name) || UNAVAILABLE_MESSAGE.test(err.message)
  );
}

/**
 * The database layer's boundary: unavailability becomes a DomainError of kind `unavailable`
 * (every transport knows what to do with it); anything else passes through unchanged.
 */
export function translateDatabaseError(err: unknown): unknown {
  if (err instanceof DomainError || !isDatabaseUnavailable(err)) return err;
  return unavailable(CommonErrorCode.SERVICE_UNAVAILABLE, 'The database is busy or unreachable; retry shortly', 1);
}
