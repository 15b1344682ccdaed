import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BIGINT_AS_TEXT } from '../../database/bigint-text.js';
import type { IncludedProduct } from '../catalog/entities/plan.entity.js';
import type { BillingCycle } from './billing-period.js';
import type { SubscriptionStatus } from './subscription-state-machine.js';

@Entity('subscriptions')
export class SubscriptionEntity {
  @PrimaryColumn('text')
  subscriptionId!: string;

  /** insertion order (identity): stable newest-first keyset paging; read-only */
  @Column({ type: 'bigint', insert: false, update: false, transformer: BIGINT_AS_TEXT })
  seq!: string;

  @Column('text')
  userId!: string;

  @Column('text', { nullable: true })
  organizationId!: string | null;

  @Column('text')
  planId!: string;

  @Column('text')
  planTier!: string;

  @Column('text')
  status!: SubscriptionStatus;

  @Column('text')
  billingCycle!: BillingCycle;

  @Column('int')
  seats!: number;

  /** numeric, exact decimal string: the price of one period */
  @Column('numeric')
  price!: string;

  @Column('text')
  currency!: string;

  /** the instant paid billing started: period n = [anchor + n×cycle, anchor + (n+1)×cycle) */
  @Column('timestamptz')
  billingAnchor!: Date;

  /** n of the current period (-1 while in the trial period, which ends at the anchor) */
  @Column('int')
  periodIndex!: number;

  @Column('timestamptz')
  currentPeriodStart!: Date;

  @Column('timestamptz')
  currentPeriodEnd!: Date;

  @Column('timestamptz', { nullable: true })
  trialStart!: Date | null;

  @Column('timestamptz', { nullable: true })
  trialEnd!: Date | null;

  @Column('boolean')
  cancelAtPeriodEnd!: boolean;

  @Column('timestamptz', { nullable: true })
  canceledAt!: Date | null;

  @Column('text', { nullable: true })
  cancellationReason!: string | null;

  @Column('text', { nullable: true })
  pendingPlanId!: string | null;

  @Column('text', { nullable: true })
  pendingBillingCycle!: BillingCycle | null;

  @Column('int', { nullable: true })
  pendingSeats!: number | null;

  /** when the subscription entered past_due (PAST_DUE_GRACE counts from here) */
  @Column('timestamptz', { nullable: true })
  pastDueSince!: Date | null;

  /**
   * the event time of the latest payment.completed / wallet.insufficient_funds applied: an older one
   * arriving later (their consumers are apart) changes nothing
   */
  @Column('timestamptz', { nullable: true })
  billingEventAt!: Date | null;

  @Column('text', { nullable: true })
  paymentMethodId!: string | null;

  @Column('jsonb')
  includedProducts!: IncludedProduct[];

  @Column('jsonb')
  quotaLimits!: Record<string, unknown>;

  @Column('jsonb')
  metadata!: Record<string, unknown>;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('timestamptz')
  updatedAt!: Date;
}
