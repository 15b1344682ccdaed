/** PostgreSQL error helpers (SQLSTATE codes from the driver error TypeORM wraps). */
interface PgErrorShape {
  code?: string;
  constraint?: string;
}

const pgError = (err: unknown): PgErrorShape => {
  const e = err as { driverError?: PgErrorShape } & PgErrorShape;
  return e?.driverError ?? e ?? {};
};

/** true when `err` is a unique violation (23505), optionally of the named constraint or index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = pgError(err);
  if (e.code !== '23505') return false;
  return constraint === undefined || e.constraint === undefined || e.constraint === constraint;
}
