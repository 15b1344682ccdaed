import { Decimal } from '../../common/money/decimal.js';
import { bestMatch, type MatchableCost, providerCost, specificity } from './cost-matching.js';

const at = new Date('2026-12-10T00:00:00.000Z');

const def = (costId: string, over: Partial<MatchableCost> = {}): MatchableCost => ({
  costId,
  serviceType: 'model_inference',
  productId: null,
  provider: null,
  modelName: null,
  operationType: null,
  unitType: 'token',
  isActive: true,
  effectiveFrom: new Date('2026-12-01T00:00:00.000Z'),
  effectiveUntil: null,
  ...over,
});

describe('cost definition matching', () => {
  it('should count the optional fields a definition sets', () => {
    expect(specificity(def('a'))).toBe(0);
    expect(specificity(def('a', { provider: 'openai', modelName: 'gpt-4o', operationType: 'input', productId: 'gpt-4o' }))).toBe(4);
  });

  it('should let a null field match anything and a set field match only its value (not an absent one)', () => {
    const generic = def('generic');
    const openai = def('openai', { provider: 'openai' });
    expect(bestMatch([generic, openai], { serviceType: 'model_inference' }, at)).toBe(generic);
    expect(bestMatch([generic, openai], { serviceType: 'model_inference', provider: 'openai' }, at)).toBe(openai);
    expect(bestMatch([generic, openai], { serviceType: 'model_inference', provider: 'anthropic' }, at)).toBe(generic);
    expect(bestMatch([openai], { serviceType: 'model_inference' }, at)).toBeUndefined();
    expect(bestMatch([generic], { serviceType: 'storage_minio' }, at)).toBeUndefined();
  });

  it('should prefer the most specific, then the latest effective_from, then the smallest cost_id', () => {
    const two = def('two', { provider: 'openai', modelName: 'gpt-4o' });
    const oneNewer = def('one', { provider: 'openai', effectiveFrom: new Date('2026-12-05T00:00:00.000Z') });
    const q = { serviceType: 'model_inference', provider: 'openai', modelName: 'gpt-4o' };
    expect(bestMatch([oneNewer, two], q, at)).toBe(two);
    const older = def('older', { provider: 'openai', modelName: 'gpt-4o', effectiveFrom: new Date('2026-11-01T00:00:00.000Z') });
    expect(bestMatch([older, two], q, at)).toBe(two);
    const twin = def('a-twin', { provider: 'openai', modelName: 'gpt-4o' });
    expect(bestMatch([two, twin], q, at)).toBe(twin);
    expect(bestMatch([twin, two], q, at)).toBe(twin);
  });

  it('should only answer definitions active and effective at the instant asked, of the given unit_type', () => {
    const future = def('future', { effectiveFrom: new Date('2026-12-20T00:00:00.000Z') });
    const ended = def('ended', { effectiveUntil: at });
    const inactive = def('inactive', { isActive: false });
    const bytes = def('bytes', { unitType: 'byte' });
    const q = { serviceType: 'model_inference', unitType: 'token' };
    expect(bestMatch([future, ended, inactive, bytes], q, at)).toBeUndefined();
    expect(bestMatch([future], q, new Date('2026-12-20T00:00:00.000Z'))).toBe(future);
    expect(bestMatch([ended], q, new Date(at.getTime() - 1))).toBe(ended);
    expect(bestMatch([bytes], { serviceType: 'model_inference' }, at)).toBe(bytes);
  });

  it('should compute usage_amount / unit_size × cost_per_unit exactly', () => {
    expect(providerCost(new Decimal('1500'), '0.15', '1000000').toFixed()).toBe('0.000225');
    expect(providerCost(new Decimal('1073741824'), '0.000000000011', '1').toFixed()).toBe('0.011811160064');
    // a quotient that does not terminate keeps 30 places, rounded half-up
    expect(providerCost(new Decimal('2'), '1', '3').toFixed()).toBe('0.666666666666666666666666666667');
  });
});
