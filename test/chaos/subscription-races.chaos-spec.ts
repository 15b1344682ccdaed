import { subscriptionRaces } from './scenarios/subscription-races.js';
import { failures } from './support/scenario.js';

describe('chaos 5: races on one subscription', () => {
  it('makes only legal transitions, one event per change, whoever wins', async () => {
    expect(failures(await subscriptionRaces())).toEqual([]);
  });
});
