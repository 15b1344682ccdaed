import { natsStall } from './scenarios/nats-stall.js';
import { failures } from './support/scenario.js';

describe('chaos 4: stalled broker (SIGSTOP of every NATS node)', () => {
  it('keeps answering HTTP during the stall and resumes relaying after SIGCONT', async () => {
    expect(failures(await natsStall())).toEqual([]);
  });
});
