import { soak } from './scenarios/soak.js';
import { failures } from './support/scenario.js';

describe('chaos 8: soak', () => {
  it('holds steady load without resource growth and loses nothing', async () => {
    expect(failures(await soak())).toEqual([]);
  });
});
