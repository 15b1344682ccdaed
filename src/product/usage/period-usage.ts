import type { Decimal } from '../../common/money/decimal.js';

/** How many units of a product a user has used in one billing period. */
export interface PeriodUsage {
  periodStart: Date;
  periodEnd: Date;
  units: Decimal;
}
