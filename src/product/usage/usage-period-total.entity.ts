import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Running total of units per (user, product, subscription or '' , period). Updated only by atomic upserts. */
@Entity('usage_period_totals')
export class UsagePeriodTotalEntity {
  @PrimaryColumn('text')
  userId!: string;

  @PrimaryColumn('text')
  productId!: string;

  /** the subscription id, or '' for usage without a subscription (calendar-month periods) */
  @PrimaryColumn('text')
  subscriptionKey!: string;

  @PrimaryColumn('timestamptz')
  periodStart!: Date;

  @Column('timestamptz')
  periodEnd!: Date;

  @Column('numeric')
  units!: string;

  @Column('timestamptz')
  updatedAt!: Date;
}
