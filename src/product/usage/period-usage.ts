import type { Decimal } from '../../common/money/decimal.js';
import type { BillingCycle } from '../subscriptions/billing-period.js';

/** How many units of a product a user has used in one billing period. */
export interface PeriodUsage {
  periodStart: Date;
  periodEnd: Date;
  units: Decimal;
  /** the subscription's billing cycle when the period is a subscription's (absent: the UTC calendar month) */
  billingCycle?: BillingCycle;
}
