import { badInput } from './scenarios/bad-input.js';
import { failures } from './support/scenario.js';

describe('chaos 9: generated bad input at scale', () => {
  it('answers every broken request with a 4xx, stores and publishes nothing, dead-letters malformed events', async () => {
    expect(failures(await badInput())).toEqual([]);
  });
});
