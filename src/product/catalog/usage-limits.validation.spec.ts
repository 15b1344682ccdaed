import { CATALOG_SEED } from '../../database/seed/catalog-data.js';
import { usageLimitsProblems } from './usage-limits.validation.js';

describe('usageLimitsProblems', () => {
  it("should accept the seed's plans and the SPEC's shapes", () => {
    for (const plan of CATALOG_SEED.plans) expect(usageLimitsProblems(plan.usage_limits)).toEqual([]);
    expect(
      usageLimitsProblems({
        model_inference: { daily_requests: 100, thresholds: [50, 80, 100] },
        gpt_4o: { period_units: '1000.5', daily_requests: '20' },
        agent: { daily_requests: -1, period_units: -1 },
        minio_storage: { period_units: 1073741824 },
        storage_gb: 5,
        mcp_tools: { note: 'informational fields are free' },
      }),
    ).toEqual([]);
    expect(usageLimitsProblems(undefined)).toEqual([]);
  });

  it('should name each bad limit: hex, exponents, fractions, below -1, past 2^53, NaN, bad thresholds', () => {
    const problems = usageLimitsProblems({
      a: { daily_requests: '0x10', period_units: '1e5', thresholds: [-5] },
      b: { daily_requests: 1e21, period_units: ' 1' },
      c: { daily_requests: 2.5, period_units: 'NaN', thresholds: 'many' },
      d: { daily_requests: -2, period_units: true, thresholds: [50, 2000] },
      e: { daily_requests: true, period_units: {} },
    });
    expect(problems).toHaveLength(13);
    expect(problems[0]).toBe('usage_limits.a.daily_requests must be -1 (unlimited) or an integer from 0 to 9007199254740991');
    expect(problems).toContain('usage_limits.b.period_units must be -1 (unlimited) or a non-negative decimal such as "1000.5"');
    expect(problems).toContain('usage_limits.d.thresholds must be a list of at most 20 percentages, each above 0 and at most 1000');
  });
});
