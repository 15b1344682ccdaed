import { soak } from './scenarios/soak.js';
import { loadChaosConfig } from './support/config.js';
import { failures } from './support/scenario.js';

// the load's minutes, then up to half an hour to read back and check every record and message
// (~650,000 on the stream after 10 minutes: 6-10 min on this machine)
const timeoutMs = (loadChaosConfig().soakMinutes + 30) * 60_000;

describe('chaos 8: soak', () => {
  it(
    'holds steady load without resource growth and loses nothing',
    async () => {
      expect(failures(await soak())).toEqual([]);
    },
    timeoutMs,
  );
});
