import { Injectable } from '@nestjs/common';
import type { CallContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { invalidField } from '../../common/errors/domain-error.js';
import { Decimal, ZERO } from '../../common/money/decimal.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { costOfUnits, type PriceSchedule } from '../catalog/pricing-engine.js';
import { ProductService } from '../catalog/services/product.service.js';
import { PROVIDER_COST_SCALE } from '../costs/cost-matching.js';
import type { VoidUsageDto } from './dto/usage.dto.js';
import { scheduleOf, storedSchedule } from './price-schedule.js';
import { UsageErrors } from './usage.errors.js';
import { parseUsageAmount } from './usage-input.js';
import { UsageQuotaRepository } from './usage-quota.repository.js';
import { UsageRepository } from './usage.repository.js';

export interface VoidUsageResponse {
  usage_record_id: string;
  voided_amount: string;
  credited_cost: string;
  currency: string;
  remaining_amount: string;
  voided_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Corrections (SPEC section 8): voiding the last k units of a record. The record covers units
 * [a, b) of its period (b = units_before + usage_amount − voided so far); the credit is the cost of
 * [b − k, b) at the record's OWN price schedule (kept by content hash when it was recorded, not
 * today's catalog), priced by the pricing engine; then b becomes b − k, so repeated partial voids
 * credit in total exactly the record's cost. The period's running total goes down by k (the next
 * records number their units from there); no other record changes. The quota counters the record
 * counted in go down too (its units; its request once nothing of it remains); thresholds already
 * reached stay reached for their window.
 *
 * One transaction, locks in the order the group statements keep: the record, its counters (key
 * order), the running total. Voids are rare: a few statements each.
 */
@Injectable()
export class UsageVoids {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: UsageRepository,
    private readonly quotaRepo: UsageQuotaRepository,
    private readonly products: ProductService,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  async void(usageRecordId: string, dto: VoidUsageDto, ctx: CallContext): Promise<VoidUsageResponse> {
    let requested: Decimal | undefined;
    if (dto.usage_amount !== undefined && dto.usage_amount !== null) {
      const parsed = parseUsageAmount(dto.usage_amount);
      if (typeof parsed === 'string') throw invalidField('usage_amount', parsed);
      requested = parsed;
    }
    if (!UUID.test(usageRecordId)) throw UsageErrors.recordNotFound(usageRecordId);
    const now = this.clock.now();
    return this.uow.run(async (tx) => {
      const found = await this.repo.lockForVoid(tx, usageRecordId);
      if (!found) throw UsageErrors.recordNotFound(usageRecordId);
      const r = found.record;
      if (now.getTime() >= r.periodEnd.getTime()) throw UsageErrors.periodClosed(r.periodEnd);
      const amount = new Decimal(r.usageAmount);
      const remaining = amount.minus(r.voidedAmount);
      const k = requested ?? remaining;
      if (remaining.isZero() || k.gt(remaining)) throw UsageErrors.nothingToVoid(k.toFixed(), remaining.toFixed());
      const end = new Decimal(r.unitsBefore).plus(remaining);
      const schedule: PriceSchedule = found.schedule
        ? storedSchedule(found.schedule.free, found.schedule.tiers)
        : // a record stored before schedules were kept: today's catalog is the best there is
          scheduleOf(this.products.get(r.productId).product);
      const credit = costOfUnits(schedule, end.minus(k), end);
      const whole = k.eq(remaining);
      const providerCredit =
        r.providerCost === null
          ? ZERO
          : whole
            ? new Decimal(r.providerCost).minus(r.voidedProviderCost)
            : // a share that does not terminate is kept to the places a provider cost has (the last void takes the remainder)
              new Decimal(r.providerCost).times(k).div(amount).toDecimalPlaces(PROVIDER_COST_SCALE, Decimal.ROUND_HALF_UP);

      if (r.quota && r.quota.counters.length > 0) {
        const rows = r.quota.counters.map((c) => ({
          userId: r.userId,
          scope: r.quota?.scope ?? '',
          key: c.key,
          kind: c.kind,
          windowStart: new Date(c.window_start),
          windowEnd: new Date(c.window_end ?? c.window_start),
        }));
        await this.quotaRepo.lock(tx, rows, now);
        const deltas = rows
          .map((row) => ({ ...row, delta: row.kind === 'period_units' ? k.negated() : whole ? new Decimal(-1) : ZERO }))
          .filter((d) => !d.delta.isZero());
        await this.quotaRepo.apply(tx, deltas, [], now);
      }
      await this.repo.lowerPeriodTotal(tx, r.userId, r.productId, r.subscriptionId ?? '', r.periodStart, k.toFixed(), now);
      await this.repo.addVoid(tx, r.usageRecordId, k.toFixed(), credit.toFixed(), providerCredit.toFixed(), now);
      await this.events.publishProductUsageVoided(
        tx,
        {
          usage_record_id: r.usageRecordId,
          user_id: r.userId,
          organization_id: r.organizationId,
          subscription_id: r.subscriptionId,
          product_id: r.productId,
          voided_amount: k.toFixed(),
          credited_cost: credit.toFixed(),
          currency: r.currency,
          reason: dto.reason,
          voided_at: now.toISOString(),
        },
        ctx,
      );
      return {
        usage_record_id: r.usageRecordId,
        voided_amount: k.toFixed(),
        credited_cost: credit.toFixed(),
        currency: r.currency,
        remaining_amount: remaining.minus(k).toFixed(),
        voided_at: now.toISOString(),
      };
    });
  }
}
