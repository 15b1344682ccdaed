import type { ErrorDetail } from '../../common/errors/domain-error.js';
import { Decimal, isDecimalString, ZERO } from '../../common/money/decimal.js';

/**
 * The pricing engine: pure functions over a product's price schedule, exact decimals only.
 *
 * Units of one user's usage of one product within a period are numbered from 0 in arrival order.
 * Unit u costs 0 while u < freeTierLimit, else the unitPrice of the tier with minUnits <= u < maxUnits
 * (graduated tiers). A record covering units [a, b) costs the exact integral of that price over [a, b).
 */
export interface Tier {
  tierName: string;
  minUnits: Decimal;
  /** null = unbounded */
  maxUnits: Decimal | null;
  unitPrice: Decimal;
}

export interface PriceSchedule {
  freeTierLimit: Decimal;
  tiers: Tier[];
}

/** A tier as the API and the database write it (decimal strings). */
export interface TierInput {
  tier_name: string;
  min_units: string;
  max_units: string | null;
  unit_price: string;
}

export interface RecordPrice {
  /** exact cost of the record's units */
  cost: Decimal;
  /** true when every unit of the record fell inside the free tier */
  isFreeTier: boolean;
  /** price of the first unit of the record that is not free (0 when all were free) */
  unitPrice: Decimal;
  /** the tier of the record's first unit */
  tier: Tier;
}

/**
 * Checks a tier table: at least one tier, first starting at 0, each starting where the previous
 * ended, only the last unbounded, every bound and price a non-negative decimal string.
 * Returns one detail per problem (empty when valid); `field` is relative (`tiers[1].min_units`).
 */
export function validateTiers(tiers: readonly TierInput[], field = 'tiers'): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (tiers.length === 0) return [{ field, message: 'at least one tier is required' }];
  let expectedMin: Decimal | null = ZERO;
  tiers.forEach((tier, i) => {
    const at = `${field}[${i}]`;
    if (!isDecimalString(tier.min_units)) problems.push({ field: `${at}.min_units`, message: 'must be a non-negative decimal string' });
    if (tier.max_units !== null && !isDecimalString(tier.max_units)) {
      problems.push({ field: `${at}.max_units`, message: 'must be a non-negative decimal string or null' });
    }
    if (!isDecimalString(tier.unit_price)) problems.push({ field: `${at}.unit_price`, message: 'must be a non-negative decimal string' });
    if (!isDecimalString(tier.min_units) || (tier.max_units !== null && !isDecimalString(tier.max_units))) {
      expectedMin = null;
      return;
    }
    const min = new Decimal(tier.min_units);
    if (expectedMin !== null && !min.eq(expectedMin)) {
      problems.push({
        field: `${at}.min_units`,
        message: i === 0 ? 'the first tier must start at 0' : `must equal the previous tier's max_units (${expectedMin.toFixed()})`,
      });
    }
    if (tier.max_units === null) {
      if (i !== tiers.length - 1) problems.push({ field: `${at}.max_units`, message: 'only the last tier may be unbounded (null)' });
      expectedMin = null;
    } else {
      const max = new Decimal(tier.max_units);
      if (!max.gt(min)) problems.push({ field: `${at}.max_units`, message: 'must be greater than min_units' });
      expectedMin = max;
    }
  });
  return problems;
}

/**
 * Builds a schedule from decimal strings (already validated). Every unit has a price: the last
 * tier's price also applies beyond its `max_units` when the table gives it a bound (SPEC prices a
 * unit "by the tier with min_units ≤ u < max_units" and is silent past the table; units there had
 * cost nothing). `extendLast: false` keeps the bound as stored: the schedule a record was priced
 * with before that, for its voids (they credit what the record was charged).
 */
export function toSchedule(freeTierLimit: string, tiers: readonly TierInput[], extendLast = true): PriceSchedule {
  return {
    freeTierLimit: new Decimal(freeTierLimit),
    tiers: tiers.map((t, i) => ({
      tierName: t.tier_name,
      minUnits: new Decimal(t.min_units),
      maxUnits: t.max_units === null || (extendLast && i === tiers.length - 1) ? null : new Decimal(t.max_units),
      unitPrice: new Decimal(t.unit_price),
    })),
  };
}

/** The tier containing unit `u` (the last tier when u is beyond every bound). */
export function tierAt(schedule: PriceSchedule, u: Decimal): Tier {
  return (
    schedule.tiers.find((t) => u.gte(t.minUnits) && (t.maxUnits === null || u.lt(t.maxUnits))) ?? schedule.tiers[schedule.tiers.length - 1]
  );
}

/** The marginal price of unit `u`: 0 inside the free tier, else its tier's unit price. */
export function unitPriceAt(schedule: PriceSchedule, u: Decimal): Decimal {
  return u.lt(schedule.freeTierLimit) ? ZERO : tierAt(schedule, u).unitPrice;
}

/** The exact cost of units [from, to): the integral of the marginal price. */
export function costOfUnits(schedule: PriceSchedule, from: Decimal, to: Decimal): Decimal {
  if (!to.gt(from)) return ZERO;
  const billableFrom = Decimal.max(from, schedule.freeTierLimit);
  let cost = ZERO;
  for (const tier of schedule.tiers) {
    const start = Decimal.max(billableFrom, tier.minUnits);
    const end = tier.maxUnits === null ? to : Decimal.min(to, tier.maxUnits);
    if (end.gt(start)) cost = cost.plus(end.minus(start).times(tier.unitPrice));
  }
  return cost;
}

/** Units of a range that fall in one tier, or in the free tier (`tier` null). */
export interface UnitsInTier {
  /** the tier, or null for the free tier */
  tier: Tier | null;
  /** the stretch of the range inside it: [from, to) */
  from: Decimal;
  to: Decimal;
  /** to - from */
  units: Decimal;
  /** price of each of these units (0 in the free tier) */
  unitPrice: Decimal;
  /** exact cost of these units */
  cost: Decimal;
}

/**
 * Units [from, to) split by where they fall, in order: the free tier (units below freeTierLimit),
 * then each tier they touch (graduated); stretches of no units are left out. The costs add up to
 * `costOfUnits(schedule, from, to)` exactly: it is the same integral, written out per tier. (Units
 * beyond a bounded last tier fall in no tier and cost nothing, as in costOfUnits.)
 */
export function splitUnits(schedule: PriceSchedule, from: Decimal, to: Decimal): UnitsInTier[] {
  if (!to.gt(from)) return [];
  const parts: UnitsInTier[] = [];
  const freeEnd = Decimal.min(to, schedule.freeTierLimit);
  if (freeEnd.gt(from)) parts.push({ tier: null, from, to: freeEnd, units: freeEnd.minus(from), unitPrice: ZERO, cost: ZERO });
  const billableFrom = Decimal.max(from, schedule.freeTierLimit);
  for (const tier of schedule.tiers) {
    const start = Decimal.max(billableFrom, tier.minUnits);
    const end = tier.maxUnits === null ? to : Decimal.min(to, tier.maxUnits);
    if (!end.gt(start)) continue;
    const units = end.minus(start);
    parts.push({ tier, from: start, to: end, units, unitPrice: tier.unitPrice, cost: units.times(tier.unitPrice) });
  }
  return parts;
}

/** Prices a record of `amount` units arriving after `before` units already used this period. */
export function priceRecord(schedule: PriceSchedule, before: Decimal, amount: Decimal): RecordPrice {
  const after = before.plus(amount);
  const cost = costOfUnits(schedule, before, after);
  const isFreeTier = !after.gt(schedule.freeTierLimit);
  const firstBillable = Decimal.max(before, schedule.freeTierLimit);
  return {
    cost,
    isFreeTier,
    unitPrice: isFreeTier ? ZERO : unitPriceAt(schedule, firstBillable),
    tier: tierAt(schedule, before),
  };
}

/** Free units left this period after `used` units. */
export function freeTierRemaining(schedule: PriceSchedule, used: Decimal): Decimal {
  return Decimal.max(ZERO, schedule.freeTierLimit.minus(used));
}
