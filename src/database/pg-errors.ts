/** PostgreSQL error helpers (SQLSTATE codes from the driver error TypeORM wraps). */
interface PgErrorShape {
  code?: unknown;
  constraint?: string;
}

const pgError = (err: unknown): PgErrorShape => {
  const e = err as { driverError?: PgErrorShape } & PgErrorShape;
  return e?.driverError ?? e ?? {};
};

/** The SQLSTATE (or socket errno) of a database error, if any. */
export function pgCode(err: unknown): string | undefined {
  const code = pgError(err).code;
  return typeof code === 'string' ? code : undefined;
}

/** true when `err` is a unique violation (23505), optionally of the named constraint or index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (pgCode(err) !== '23505') return false;
  const e = pgError(err);
  return constraint === undefined || e.constraint === undefined || e.constraint === constraint;
}
