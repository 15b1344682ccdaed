import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min, ValidateBy, type ValidationOptions } from 'class-validator';
import { isDecimalString } from '../money/decimal.js';
import { MAX_LIMIT } from '../pagination/page.js';
import { parseTimestamp } from '../time/timestamp.js';

/** SPEC identifiers: strings of 1-255 characters with no control characters (C0, DEL and C1: U+0000-U+001F, U+007F-U+009F). */
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const IDENTIFIER = /^[^\u0000-\u001f\u007f-\u009f]{1,255}$/u;

/** (the `u` regex counts code points: at most 255 of them, i.e. at most 510 UTF-16 units) */
export function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 510 && IDENTIFIER.test(value);
}

export function IsIdentifier(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIdentifier',
      validator: {
        validate: (value: unknown) => isIdentifier(value),
        defaultMessage: (args) => `${args?.property} must be a string of 1-255 characters without control characters`,
      },
    },
    options,
  );
}

/** A non-negative exact decimal written as a string ("0.000000000023"); numbers are refused. */
export function IsDecimalString(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDecimalString',
      validator: {
        validate: (value: unknown) => isDecimalString(value),
        defaultMessage: (args) => `${args?.property} must be a non-negative decimal written as a string, e.g. "0.25"`,
      },
    },
    options,
  );
}

/** ISO 8601; without an offset it means UTC; `dateOnly` also accepts YYYY-MM-DD (midnight UTC). */
export function IsTimestamp(dateOnly = false, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTimestamp',
      validator: {
        validate: (value: unknown) => parseTimestamp(value, dateOnly) !== undefined,
        defaultMessage: (args) => `${args?.property} must be an ISO 8601 timestamp (no offset = UTC)`,
      },
    },
    options,
  );
}

/**
 * A non-negative exact decimal given as a plain decimal string ("0.00015") or as a JSON number
 * (0.00015, as Python's json writes floats: read through its shortest round-trip text, see
 * `decimalInput`). For inputs the platform's tools send either way.
 */
export function IsDecimalInput(options: ValidationOptions & { positive?: boolean } = {}): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDecimalInput',
      validator: {
        validate: (value: unknown) => {
          const ok = isDecimalString(value) || (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1e15);
          return ok && (!options.positive || Number(value) > 0);
        },
        defaultMessage: (args) =>
          `${args?.property} must be a ${options.positive ? 'positive' : 'non-negative'} decimal (a string such as "0.25", or a number)`,
      },
    },
    options,
  );
}

/** Currency codes: ISO 4217 style or a platform unit such as CREDIT. */
export const IsCurrency = (): PropertyDecorator =>
  Matches(/^[A-Z][A-Z0-9_]{1,15}$/, { message: 'currency must be an upper-case code such as USD or CREDIT' });

/** Query-string integer `limit` with SPEC bounds (default applied by the service). */
export function IsLimit(): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value)),
    IsInt({ message: `limit must be an integer between 1 and ${MAX_LIMIT}` }),
    Min(1, { message: `limit must be an integer between 1 and ${MAX_LIMIT}` }),
    Max(MAX_LIMIT, { message: `limit must be an integer between 1 and ${MAX_LIMIT}` }),
  );
}

/** Query-string boolean: `true` / `false` / `1` / `0` in any letter case (Python's `requests` writes `True`). */
export function ToBoolean(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => parseQueryBoolean(value));
}

/** `true`/`1` → true, `false`/`0` → false (any letter case); anything else is returned as it is (and fails validation). */
export function parseQueryBoolean(value: unknown): unknown {
  if (typeof value !== 'string' || value.length > 5) return value;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  return value;
}

// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
export const NO_CONTROL_CHARS = Matches(/^[^\u0000-\u001f\u007f-\u009f]*$/u, { message: '$property must not contain control characters' });

/**
 * Free-form objects that travel in events (a subscription's `metadata`, a usage record's
 * `usage_details`): at most 64 KiB as JSON (UTF-8). Every event carrying one then stays far below
 * NATS's default `max_payload` (1 MiB), which a body of up to 1 MiB could otherwise exceed: an
 * event the bus cannot take would be parked by the relay (see OutboxRelay) instead of published.
 */
export const MAX_EVENT_OBJECT_BYTES = 65_536;

/** `field`'s problem when `value` (a plain object) is larger than MAX_EVENT_OBJECT_BYTES as JSON; undefined when it fits. */
export function eventObjectSizeProblem(value: unknown, field: string): string | undefined {
  const text = JSON.stringify(value) ?? '';
  // a UTF-16 unit is at most 3 bytes of UTF-8: most objects are settled by their length alone
  if (text.length <= MAX_EVENT_OBJECT_BYTES / 3 || Buffer.byteLength(text) <= MAX_EVENT_OBJECT_BYTES) return undefined;
  return `${field} must be at most 64 KiB as JSON`;
}

/** class-validator's form of eventObjectSizeProblem (documents the limit on the DTO as the field tables enforce it). */
export function MaxEventObjectSize(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'maxEventObjectSize',
      validator: {
        validate: (value: unknown, args) => eventObjectSizeProblem(value, args?.property ?? '') === undefined,
        defaultMessage: (args) => `${args?.property} must be at most 64 KiB as JSON`,
      },
    },
    options,
  );
}
