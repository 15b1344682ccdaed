import { inboxRetention } from './scenarios/inbox-retention.js';
import { failures } from './support/scenario.js';

describe('chaos 7: inbox retention', () => {
  it('deduplicates redelivered events inside the retention window, across a restart', async () => {
    expect(failures(await inboxRetention())).toEqual([]);
  });
});
