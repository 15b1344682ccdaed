import { serviceKill } from './scenarios/service-kill.js';
import { failures } from './support/scenario.js';

describe('chaos 1: service kill -9 under load', () => {
  it('stores every answered write once, with one event each, through two kills and restarts', async () => {
    const result = await serviceKill();
    expect(failures(result)).toEqual([]);
  });
});
