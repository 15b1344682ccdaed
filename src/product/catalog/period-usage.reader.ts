import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock.js';
import { type Decimal, ZERO } from '../../common/money/decimal.js';

export interface PeriodUsage {
  periodStart: Date;
  periodEnd: Date;
  units: Decimal;
}

/**
 * Port: how many units of a product a user has used in the billing period containing `at`
 * (the subscription's period when `subscriptionId` is given, else the calendar month UTC).
 * The usage feature rebinds this provider to its real implementation; it may throw DomainErrors
 * (e.g. a subscription that is not the user's).
 */
export abstract class PeriodUsageReader {
  abstract periodUsage(productId: string, userId: string, subscriptionId: string | undefined, at: Date): Promise<PeriodUsage>;
}

/** The calendar month (UTC) containing `at`: [first instant of the month, first instant of the next). */
export function calendarMonthOf(at: Date): { periodStart: Date; periodEnd: Date } {
  const periodStart = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const periodEnd = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { periodStart, periodEnd };
}

/** Default until usage storage exists: zero units over the calendar month (UTC) of `at`. */
@Injectable()
export class ZeroPeriodUsageReader extends PeriodUsageReader {
  constructor(private readonly clock: Clock) {
    super();
  }

  periodUsage(_productId: string, _userId: string, _subscriptionId: string | undefined, at: Date = this.clock.now()): Promise<PeriodUsage> {
    return Promise.resolve({ ...calendarMonthOf(at), units: ZERO });
  }
}
