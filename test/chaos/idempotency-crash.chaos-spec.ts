import { idempotencyCrash } from './scenarios/idempotency-crash.js';
import { failures } from './support/scenario.js';

describe('chaos 6: Idempotency-Key crash window', () => {
  it('after a kill -9, retries with the same key replay or redo exactly once', async () => {
    expect(failures(await idempotencyCrash())).toEqual([]);
  });
});
