import { parsePricingId, pricingIdOf } from './pricing-id.js';

describe('pricing ids', () => {
  it('should write a tier row key as <product_id>:<tier_index> and read it back', () => {
    expect(pricingIdOf('gpt-4o-mini', 1)).toBe('gpt-4o-mini:1');
    expect(parsePricingId('gpt-4o-mini:1')).toEqual({ productId: 'gpt-4o-mini', tierIndex: 1 });
  });

  it('should take the tier index after the last colon, so product ids may contain colons', () => {
    expect(parsePricingId(pricingIdOf('vendor:model:v2', 12))).toEqual({ productId: 'vendor:model:v2', tierIndex: 12 });
  });

  it('should refuse anything that is not a canonical id', () => {
    for (const bad of ['gpt-4', 'gpt-4:', ':0', 'gpt-4:01', 'gpt-4:-1', 'gpt-4:1.5', 'gpt-4:1e3', 'gpt-4:9999999999']) {
      expect([bad, parsePricingId(bad)]).toEqual([bad, undefined]);
    }
  });
});
