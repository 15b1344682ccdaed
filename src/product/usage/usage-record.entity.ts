import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BIGINT_AS_TEXT } from '../../database/bigint-text.js';

@Entity('usage_records')
export class UsageRecordEntity {
  @PrimaryColumn('uuid')
  usageRecordId!: string;

  /** arrival order (identity): stable newest-first paging; read-only */
  @Column({ type: 'bigint', insert: false, update: false, transformer: BIGINT_AS_TEXT })
  seq!: string;

  @Column('text')
  userId!: string;

  @Column('text', { nullable: true })
  organizationId!: string | null;

  @Column('text', { nullable: true })
  subscriptionId!: string | null;

  @Column('text')
  productId!: string;

  /** numeric, exact decimal string */
  @Column('numeric')
  usageAmount!: string;

  /** units of this (user, product, period) used before this record: it covers [unitsBefore, unitsBefore + usageAmount) */
  @Column('numeric')
  unitsBefore!: string;

  @Column('numeric')
  unitPrice!: string;

  @Column('numeric')
  totalCost!: string;

  @Column('text')
  currency!: string;

  @Column('boolean')
  isFreeTier!: boolean;

  @Column('timestamptz')
  periodStart!: Date;

  @Column('timestamptz')
  periodEnd!: Date;

  @Column('text', { nullable: true })
  sessionId!: string | null;

  @Column('text', { nullable: true })
  requestId!: string | null;

  @Column('jsonb', { nullable: true })
  usageDetails!: Record<string, unknown> | null;

  @Column('timestamptz')
  usageTimestamp!: Date;

  @Column('timestamptz')
  createdAt!: Date;

  /** what the units cost the platform (usage_amount / unit_size × cost_per_unit of the matched cost definition); null: none matched */
  @Column('numeric', { nullable: true })
  providerCost!: string | null;

  /** units voided so far (SPEC section 8): the record now covers [unitsBefore, unitsBefore + usageAmount - voidedAmount) */
  @Column('numeric', { default: 0 })
  voidedAmount!: string;

  /** what its voids credited so far, at the record's own tiers */
  @Column('numeric', { default: 0 })
  creditedCost!: string;

  /** the provider cost of the voided units (all of it once the whole record is voided) */
  @Column('numeric', { default: 0 })
  voidedProviderCost!: string;

  /** the last void */
  @Column('timestamptz', { nullable: true })
  voidedAt!: Date | null;

  /** stored past a plan limit (usage that happened is recorded; SPEC section 8) */
  @Column('boolean', { default: false })
  overQuota!: boolean;

  /** the price schedule it was priced with (usage_price_schedules), so that a void prices at its own tiers */
  @Column('text', { nullable: true })
  priceScheduleId!: string | null;

  /** the quota counters it counted in (null: no limit applied) */
  @Column('jsonb', { nullable: true })
  quota!: RecordQuota | null;
}

/** The quota counters a record counted in: their scope and, per limit, the key, kind and window. */
export interface RecordQuota {
  scope: string;
  counters: { key: string; kind: 'daily_requests' | 'period_units'; window_start: string; window_end?: string }[];
}
