import { type ArgumentMetadata, Injectable, stripProtoKeys, ValidationPipe, type ValidationError } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { badRequest, type ErrorDetail } from '../errors/domain-error.js';
import { checkJsonBody } from './json-guard.js';

/**
 * class-validator's errors as SPEC details, one per failed constraint, fields named like JSON paths
 * (`tiers[1].unit_price`, `records[3].usage_amount`); `parent` prefixes every field.
 */
export function validationDetails(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = !parent ? error.property : /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : `${parent}.${error.property}`;
    // one entry per message: rules sharing a message (limit's integer, minimum and maximum) say it once
    const own = [...new Set(Object.values(error.constraints ?? {}))].map((message) => ({
      field,
      // whitelist's "property x should not exist" says it from class-validator's side; ours names the field
      message: message.includes('should not exist') ? `${field} is not an allowed field` : message,
    }));
    return [...own, ...validationDetails(error.children ?? [], field)];
  });
}

/**
 * Marks a value another transport hands to a handler (a consumed event): Nest gives an RPC
 * `@Payload()` to the global pipe as a `body`, but the checks of an HTTP request body (NUL, lone
 * surrogates, depth: what a stored value cannot hold) are not the event's, whose class says what
 * it needs; they had dead-lettered a payment over a NUL in a field it never reads.
 */
const TRANSPORT_PAYLOAD = Symbol('transport payload');

/** `value`, marked as a transport's payload (not an HTTP body) for AppValidationPipe. */
export function asTransportPayload<T extends object>(value: T): T {
  Object.defineProperty(value, TRANSPORT_PAYLOAD, { value: true });
  return value;
}

/** A 400 VALIDATION_ERROR naming each bad field. */
export function validationException(errors: ValidationError[]): Error {
  return badRequest('Request validation failed', validationDetails(errors));
}

/**
 * Validates a plain object as a DTO the way the global pipe validates bodies (unknown fields
 * refused); for bodies the pipe cannot see whole (optional bodies, batch items). Like the pipe, it
 * first removes `__proto__`, `prototype` and `constructor` keys at every depth (Nest's
 * `stripProtoKeys`, which mutates `plain`): class-validator looks a nested object's rules up through
 * its `constructor`, and a string there (`{"metadata": {"constructor": "x"}}`) made it throw, a 500.
 */
export async function validateBody<T extends object>(
  cls: new () => T,
  plain: object,
  parent = '',
): Promise<{ dto: T; details: ErrorDetail[] }> {
  stripProtoKeys(plain);
  const dto = plainToInstance(cls, plain);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  return { dto, details: validationDetails(errors, parent) };
}

/**
 * A body for an operation without fields (POST .../resume, DELETE): none, or `{}`; any field is
 * unknown (SPEC: 400), as for every other body (class-validator refuses a class without rules).
 */
export function requireNoFields(body: unknown): void {
  if (body === undefined || body === '') return;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
  const fields = Object.keys(body);
  if (fields.length > 0) {
    throw badRequest(
      'Request validation failed',
      fields.map((field) => ({ field, message: `${field} is not an allowed field` })),
    );
  }
}

/**
 * Global validation: bodies reject unknown fields (SPEC), query strings drop unknown parameters
 * (browsers and proxies add cache-busters) and empty ones (SPEC section 7: `?x=` means x is not
 * given, on every route); both transform to the DTO's types.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  /** Query DTOs whose empty instance is valid: an empty query string skips class-validator (most GETs). */
  private readonly emptyQueryValid = new WeakMap<object, boolean>();

  private readonly queryPipe = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: false,
    transform: true,
    exceptionFactory: validationException,
  });

  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: validationException,
      validationError: { target: false, value: false },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      metadata.type === 'body' &&
      (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) &&
      metadata.metatype &&
      metadata.metatype !== Object
    ) {
      throw badRequest('Request body must be a JSON object');
    }
    if (metadata.type === 'body') {
      if (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TRANSPORT_PAYLOAD] === true) return value;
      const problems = checkJsonBody(value);
      if (problems.length > 0) throw badRequest('Request validation failed', problems);
    }
    if (metadata.type === 'query') return this.transformQuery(value, metadata);
    return super.transform(value, metadata);
  }

  private async transformQuery(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // SPEC: an empty value (`?subscription_id=`, Python httpx's None) means the parameter is absent.
    if (metadata.data !== undefined && value === '') return undefined;
    const query = value !== null && typeof value === 'object' && !Array.isArray(value) ? withoutEmptyValues(value) : value;
    const metatype = metadata.metatype;
    const empty = query !== null && typeof query === 'object' && Object.keys(query).length === 0;
    if (!empty || !metatype || metatype === Object) return this.queryPipe.transform(query, metadata);
    let valid = this.emptyQueryValid.get(metatype);
    if (valid === undefined) {
      valid = (await validate(plainToInstance(metatype as new () => object, {}), { whitelist: true })).length === 0;
      this.emptyQueryValid.set(metatype, valid);
    }
    if (!valid) return this.queryPipe.transform(query, metadata);
    return new (metatype as new () => object)();
  }
}

/**
 * The query without its empty parameters (`?a=&b=1` → `{b: "1"}`): the object itself when none is
 * empty (no copy; a request without a query string loops over nothing).
 */
export const withoutEmptyValues = (query: object): object => withoutValue(query, '');

/**
 * `fields` without the entries whose value is `omitted` (not nested ones): the object itself when it
 * has none (no copy). Empty query parameters (`''`), a request hash's top-level nulls.
 */
export function withoutValue(fields: object, omitted: unknown): object {
  const entries = fields as Record<string, unknown>;
  for (const key in entries) {
    if (entries[key] !== omitted) continue;
    const kept: Record<string, unknown> = {};
    for (const k in entries) if (entries[k] !== omitted) kept[k] = entries[k];
    return kept;
  }
  return fields;
}
