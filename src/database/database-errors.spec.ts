import { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError, TypeORMError } from 'typeorm';
import { DomainError } from '../common/errors/domain-error.js';
import { isDatabaseUnavailable, translateDatabaseError } from './database-errors.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('database errors', () => {
  it('should call a database that cannot answer now unavailable', () => {
    for (const err of [
      withCode('the database system is shutting down', '57P03'),
      withCode('sorry, too many clients already', '53300'),
      withCode('cannot execute SELECT FOR UPDATE in a read-only transaction', '25006'),
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new QueryRunnerAlreadyReleasedError(),
      new QueryRunnerProviderAlreadyReleasedError(),
      new TypeORMError('Driver not Connected'),
    ]) {
      expect([err.message, isDatabaseUnavailable(err)]).toEqual([err.message, true]);
    }
  });

  it('should leave wrong queries and constraint violations alone', () => {
    for (const err of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('syntax error', '42601'),
      new Error('x'),
    ]) {
      expect(isDatabaseUnavailable(err)).toBe(false);
      expect(translateDatabaseError(err)).toBe(err);
    }
    expect(isDatabaseUnavailable('not an error')).toBe(false);
  });

  it('should translate unavailability into a retryable DomainError', () => {
    const translated = translateDatabaseError(new QueryRunnerAlreadyReleasedError());
    expect(translated).toBeInstanceOf(DomainError);
    expect(translated).toMatchObject({ kind: 'unavailable', retryAfterSeconds: 1 });
  });
});
