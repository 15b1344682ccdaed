import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A plan limit's counter: what a user used of one limit (key = product type or product id, kind)
 * in one window (a UTC day, or a billing period), per scope (the organization of the subscription
 * that gives the limit, or '' for a personal one). Written only by UsageQuotaRepository.
 */
@Entity('usage_quota_counters')
export class UsageQuotaCounterEntity {
  @PrimaryColumn('text')
  userId!: string;

  @PrimaryColumn('text')
  scope!: string;

  @PrimaryColumn('text')
  limitKey!: string;

  @PrimaryColumn('text')
  kind!: string;

  @PrimaryColumn('timestamptz')
  windowStart!: Date;

  @Column('timestamptz')
  windowEnd!: Date;

  @Column('numeric')
  used!: string;

  @Column('timestamptz')
  updatedAt!: Date;
}

/** A threshold reached in a window: its row is the fact that its event was written (once). */
@Entity('usage_quota_thresholds')
export class UsageQuotaThresholdEntity {
  @PrimaryColumn('text')
  userId!: string;

  @PrimaryColumn('text')
  scope!: string;

  @PrimaryColumn('text')
  limitKey!: string;

  @PrimaryColumn('text')
  kind!: string;

  @PrimaryColumn('timestamptz')
  windowStart!: Date;

  @PrimaryColumn('numeric')
  thresholdPercent!: string;

  @Column('timestamptz')
  reachedAt!: Date;
}

/** A price schedule records were priced with, by content hash (a void prices at the record's own tiers). */
@Entity('usage_price_schedules')
export class UsagePriceScheduleEntity {
  @PrimaryColumn('text')
  scheduleId!: string;

  @Column('numeric')
  freeTierLimit!: string;

  @Column('jsonb')
  tiers!: { min_units: string; max_units: string | null; unit_price: string }[];

  @Column('timestamptz')
  createdAt!: Date;
}
