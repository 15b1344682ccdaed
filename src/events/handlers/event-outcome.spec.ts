import { badRequest, conflict, notFound, unavailable } from '../../common/errors/domain-error.js';
import { EventValidationError } from '../models/validate-payload.js';
import { retryDelayMs } from '../transport/jetstream.server.js';
import { classifyEventError, EventOutcome } from './event-outcome.js';

describe('classifyEventError', () => {
  it('should acknowledge business refusals a retry cannot change', () => {
    expect(classifyEventError(notFound('SUBSCRIPTION_NOT_FOUND', 'no such subscription')).action).toBe('ack');
    expect(classifyEventError(conflict('ILLEGAL_TRANSITION', 'canceled → active')).action).toBe('ack');
  });

  it('should dead-letter bad messages at once', () => {
    expect(classifyEventError(new EventValidationError('user.deleted', ['user_id missing'])).action).toBe('dead_letter');
    expect(classifyEventError(badRequest('bad')).action).toBe('dead_letter');
  });

  it('should wait out a dependency that cannot answer (never dead-lettered), and retry other errors', () => {
    expect(classifyEventError(unavailable('DEPENDENCY_UNAVAILABLE', 'down', 5)).action).toBe('wait');
    expect(classifyEventError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })).action).toBe(
      'wait',
    );
    expect(classifyEventError(new Error('Connection terminated unexpectedly')).action).toBe('wait');
    expect(classifyEventError(new Error('something broke')).action).toBe('retry');
    expect(classifyEventError({ message: 'odd' })).toMatchObject({ action: 'retry', message: 'odd' });
    expect(classifyEventError('text').message).toBe('text');
    const given = new EventOutcome('ack', 'x');
    expect(classifyEventError(given)).toBe(given);
  });
});

describe('retryDelayMs', () => {
  it('should double the delay per delivery up to 60 s', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(1000, n))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(1000, 30)).toBe(60_000);
  });
});
