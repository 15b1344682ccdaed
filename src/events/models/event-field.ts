import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { isDecimalString } from '../../common/money/decimal.js';
import { parseTimestamp } from '../../common/time/timestamp.js';
import { isIdentifier } from '../../common/validation/validators.js';

/**
 * One decorator per field of an event payload: it applies the class-validator rules AND records a
 * JSON Schema fragment, so the validated class is the single source of both the runtime check and
 * the AsyncAPI document (no schema written twice by hand).
 */
export type JsonSchema = Record<string, unknown>;

interface FieldOptions {
  description?: string;
  example?: unknown;
  /** the value may be JSON null */
  nullable?: boolean;
  /** the property may be absent (inbound events from other services) */
  optional?: boolean;
}

interface FieldSpec extends FieldOptions {
  schema: JsonSchema | (() => JsonSchema);
  /**
   * The same rule as the field's class-validator decorators, as a plain predicate: what is wrong
   * with a (present, non-null) value, or undefined. Checks the events this service publishes
   * without class-validator's per-call cost (`fastPayloadProblems`).
   */
  check: (value: unknown) => string | undefined;
}

const FIELDS = Symbol('event:fields');
const CLASS_INFO = Symbol('event:class');

function fieldsOf(target: object): Map<string, FieldSpec> {
  const own = Reflect.getOwnMetadata(FIELDS, target) as Map<string, FieldSpec> | undefined;
  if (own) return own;
  const inherited = Reflect.getMetadata(FIELDS, target) as Map<string, FieldSpec> | undefined;
  const map = new Map(inherited ?? []);
  Reflect.defineMetadata(FIELDS, map, target);
  return map;
}

function field(spec: FieldSpec, ...validators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    fieldsOf(target).set(String(key), spec);
    if (spec.optional && spec.nullable) IsOptional()(target, key);
    else if (spec.optional) ValidateIf((_o, v) => v !== undefined)(target, key);
    else if (spec.nullable) ValidateIf((_o, v) => v !== null)(target, key);
    for (const v of validators) v(target, key);
  };
}

const IsIdentifierRule = ValidateBy({
  name: 'isIdentifier',
  validator: {
    validate: (value: unknown) => isIdentifier(value),
    defaultMessage: (args) => `${args?.property} must be a string of 1-255 characters without control characters`,
  },
});

const IsDecimalRule = ValidateBy({
  name: 'isDecimalString',
  validator: {
    validate: (value: unknown) => isDecimalString(value),
    defaultMessage: (args) => `${args?.property} must be a non-negative decimal written as a string`,
  },
});

const IsIdsRule = ValidateBy({
  name: 'isIdentifierList',
  validator: {
    validate: (value: unknown) => Array.isArray(value) && value.length > 0 && value.every((x) => isIdentifier(x)),
    defaultMessage: (args) => `${args?.property} must be a non-empty array of identifiers`,
  },
});

/**
 * A timestamp as the HTTP API reads one (common/time/timestamp.ts: ISO 8601, no offset = UTC, real
 * dates only, years 1-9999): one reading for bodies and events (the events had had their own, which
 * let 2027-02-29 through and refused the space separator the API takes).
 */
const isTimestamp = (value: unknown): boolean => parseTimestamp(value) !== undefined;
const IsTimestampRule = ValidateBy({
  name: 'isTimestamp',
  validator: {
    validate: isTimestamp,
    defaultMessage: (args) => `${args?.property} must be an ISO 8601 timestamp`,
  },
});

/** A decimal (money, quantity) as an exact string, or (inbound only) a JSON number. */
const IsDecimalOrNumberRule = ValidateBy({
  name: 'isDecimalOrNumber',
  validator: {
    validate: (value: unknown) =>
      (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)),
    defaultMessage: (args) => `${args?.property} must be a decimal string or a number`,
  },
});

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const unless = (ok: boolean, message: string): string | undefined => (ok ? undefined : message);

export const EventField = {
  /** a SPEC identifier: 1-255 characters, no control characters */
  id: (o: FieldOptions = {}) =>
    field(
      { ...o, schema: { type: 'string', minLength: 1, maxLength: 255 }, check: (v) => unless(isIdentifier(v), 'must be an identifier') },
      IsIdentifierRule,
    ),
  string: (o: FieldOptions & { maxLength?: number } = {}) =>
    field(
      {
        ...o,
        schema: { type: 'string', ...(o.maxLength ? { maxLength: o.maxLength } : {}) },
        check: (v) => unless(typeof v === 'string' && (!o.maxLength || v.length <= o.maxLength), 'must be a string'),
      },
      IsString(),
      ...(o.maxLength ? [MaxLength(o.maxLength)] : []),
    ),
  /** a non-empty array of SPEC identifiers */
  ids: (o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 255 } },
        check: (v) =>
          unless(Array.isArray(v) && v.length > 0 && v.every((x) => isIdentifier(x)), 'must be a non-empty array of identifiers'),
      },
      IsIdsRule,
    ),
  /** non-empty string */
  text: (o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: { type: 'string', minLength: 1 },
        check: (v) => unless(typeof v === 'string' && v.length > 0, 'must be a non-empty string'),
      },
      IsString(),
      MinLength(1),
    ),
  /** exact non-negative decimal written as a string ("0.024696061952") */
  decimal: (o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: { type: 'string', pattern: '^\\d+(\\.\\d+)?$', format: 'decimal' },
        check: (v) => unless(isDecimalString(v), 'must be a decimal string'),
      },
      IsDecimalRule,
    ),
  /** inbound amounts: a decimal string or a JSON number (other services are not all careful) */
  amount: (o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: { type: ['string', 'number'] },
        check: (v) =>
          unless(
            (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)),
            'must be a decimal',
          ),
      },
      IsDecimalOrNumberRule,
    ),
  timestamp: (o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: { type: 'string', format: 'date-time' },
        check: (v) => unless(isTimestamp(v), 'must be an ISO 8601 timestamp'),
      },
      IsTimestampRule,
    ),
  int: (o: FieldOptions & { min?: number } = {}) =>
    field(
      {
        ...o,
        schema: { type: 'integer', ...(o.min !== undefined ? { minimum: o.min } : {}) },
        check: (v) => unless(Number.isInteger(v) && (o.min === undefined || (v as number) >= o.min), 'must be an integer'),
      },
      IsInt(),
      ...(o.min !== undefined ? [Min(o.min)] : []),
    ),
  number: (o: FieldOptions = {}) =>
    field(
      { ...o, schema: { type: 'number' }, check: (v) => unless(typeof v === 'number' && Number.isFinite(v), 'must be a number') },
      IsNumber({ allowNaN: false, allowInfinity: false }),
    ),
  boolean: (o: FieldOptions = {}) =>
    field({ ...o, schema: { type: 'boolean' }, check: (v) => unless(typeof v === 'boolean', 'must be a boolean') }, IsBoolean()),
  enum: (values: readonly string[], o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: { type: 'string', enum: [...values] },
        check: (v) => unless(values.includes(v as string), `must be one of ${values.join(', ')}`),
      },
      IsIn(values as string[]),
    ),
  /** free-form JSON object */
  object: (o: FieldOptions = {}) =>
    field(
      { ...o, schema: { type: 'object', additionalProperties: true }, check: (v) => unless(isPlainObject(v), 'must be an object') },
      IsObject(),
    ),
  /**
   * a field other services send that no handler reads: documented with its usual shape, never
   * checked (always optional and nullable), so a sender's variation (an object where a string is
   * usual, Python's "0E-8" for an amount) never costs the event its effect
   */
  unread: (schema: JsonSchema, o: Omit<FieldOptions, 'optional' | 'nullable'> = {}) =>
    field({ ...o, optional: true, nullable: true, schema, check: () => undefined }),
  /** a nested payload class */
  nested: (cls: () => new () => object, o: FieldOptions = {}) =>
    field(
      {
        ...o,
        schema: () => jsonSchemaOf(cls()),
        check: (v) => (isPlainObject(v) ? fastPayloadProblems(cls(), v)[0] : 'must be an object'),
      },
      IsObject(),
      ValidateNested(),
      Type(cls),
    ),
};

/** A payload class's fields as fastPayloadProblems walks them, read from its metadata once. */
interface FieldTable {
  names: readonly string[];
  specs: readonly FieldSpec[];
  known: ReadonlyMap<string, FieldSpec>;
  open: boolean;
}
const fieldTables = new WeakMap<object, FieldTable>();
/** no problem: one shared answer (callers only read it) */
const NO_PROBLEMS: string[] = Object.freeze([]) as unknown as string[];

function fieldTableOf(cls: abstract new (...args: never[]) => object): FieldTable {
  let table = fieldTables.get(cls);
  if (!table) {
    const known =
      (Reflect.getMetadata(FIELDS, cls.prototype as object) as Map<string, FieldSpec> | undefined) ?? new Map<string, FieldSpec>();
    table = { names: [...known.keys()], specs: [...known.values()], known, open: eventClassInfo(cls)?.open === true };
    fieldTables.set(cls, table);
  }
  return table;
}

/**
 * What is wrong with a payload of `cls`, by the fields' own predicates (see FieldSpec.check): the
 * cheap check of the events this service publishes and consumes, run for every one of them.
 * Required fields must be present (and not null unless nullable); closed classes refuse properties
 * they do not declare. The class's fields are read from its metadata once; a payload without
 * problems allocates nothing (the answer is a shared empty array).
 */
export function fastPayloadProblems(cls: abstract new (...args: never[]) => object, payload: Record<string, unknown>): string[] {
  const { names, specs, known, open } = fieldTableOf(cls);
  let problems: string[] | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const spec = specs[i];
    const value = payload[name];
    let problem: string | undefined;
    if (value === undefined) problem = spec.optional ? undefined : `${name} is required`;
    else if (value === null) problem = spec.nullable ? undefined : `${name} must not be null`;
    else {
      const found = spec.check(value);
      problem = found ? `${name} ${found}` : undefined;
    }
    if (problem) (problems ??= []).push(problem);
  }
  if (!open)
    for (const key in payload)
      if (Object.hasOwn(payload, key) && !known.has(key)) (problems ??= []).push(`${key} is not a field of this event`);
  return problems ?? NO_PROBLEMS;
}

export interface EventClassInfo {
  title: string;
  description: string;
  /** extra properties allowed (inbound events from other services carry more than we read) */
  open?: boolean;
}

/** Names and describes a payload class for the AsyncAPI document. */
export function EventSchema(info: EventClassInfo): ClassDecorator {
  return (target) => Reflect.defineMetadata(CLASS_INFO, info, target);
}

export function eventClassInfo(cls: object): EventClassInfo | undefined {
  return Reflect.getOwnMetadata(CLASS_INFO, cls) as EventClassInfo | undefined;
}

/** The JSON Schema (draft-07 subset, valid AsyncAPI schema) of a decorated payload class. */
export function jsonSchemaOf(cls: abstract new (...args: never[]) => object): JsonSchema {
  const info = eventClassInfo(cls);
  const fields =
    (Reflect.getMetadata(FIELDS, cls.prototype as object) as Map<string, FieldSpec> | undefined) ?? new Map<string, FieldSpec>();
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, spec] of fields) {
    let schema: JsonSchema = { ...(typeof spec.schema === 'function' ? spec.schema() : spec.schema) };
    if (spec.nullable) {
      const t = schema.type;
      if (typeof t === 'string') schema.type = [t, 'null'];
      else if (Array.isArray(t)) schema.type = [...(t as string[]), 'null'];
      else schema = { oneOf: [schema, { type: 'null' }] };
      if (Array.isArray(schema.enum)) schema.enum = [...(schema.enum as unknown[]), null];
    }
    if (spec.description) schema.description = spec.description;
    if (spec.example !== undefined) schema.examples = [spec.example];
    properties[name] = schema;
    if (!spec.optional) required.push(name);
  }
  return {
    type: 'object',
    ...(info ? { title: info.title, description: info.description } : {}),
    properties,
    required,
    additionalProperties: info?.open ?? false,
  };
}

/** Field names of a decorated class (what the publisher keeps; anything else is a programming error). */
export function fieldNamesOf(cls: abstract new (...args: never[]) => object): string[] {
  return [...((Reflect.getMetadata(FIELDS, cls.prototype as object) as Map<string, FieldSpec> | undefined)?.keys() ?? [])];
}
