import { natsOutage } from './scenarios/nats-outage.js';
import { failures } from './support/scenario.js';

describe('chaos 3: NATS node loss and full NATS outage under load', () => {
  it('keeps publishing and consuming with one node down, holds events while all are down, delivers each once', async () => {
    expect(failures(await natsOutage())).toEqual([]);
  });
});
