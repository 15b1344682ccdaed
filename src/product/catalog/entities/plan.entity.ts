import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export interface IncludedProduct {
  product_id: string;
  /** exact decimal string; null = unlimited */
  included_amount: string | null;
}

@Entity('service_plans')
@Check('service_plans_monthly_price_check', 'monthly_price >= 0')
@Check('service_plans_yearly_price_check', 'yearly_price >= 0')
@Check('service_plans_min_seats_check', 'min_seats >= 1')
@Check('service_plans_check', 'max_seats IS NULL OR max_seats >= min_seats')
@Check('service_plans_trial_days_check', 'trial_days >= 0')
export class PlanEntity {
  @PrimaryColumn('text')
  planId!: string;

  @Column('text')
  name!: string;

  @Column('text')
  planTier!: string;

  @Column('text', { nullable: true })
  description!: string | null;

  @Column('numeric')
  monthlyPrice!: string;

  @Column('numeric')
  yearlyPrice!: string;

  @Column('boolean', { default: false })
  perSeat!: boolean;

  @Column('text', { default: 'USD' })
  currency!: string;

  @Column('numeric', { default: 0 })
  includedCredits!: string;

  @Column('boolean', { default: false })
  creditRollover!: boolean;

  @Column('numeric', { nullable: true })
  maxRolloverCredits!: string | null;

  @Column('text', { nullable: true })
  targetAudience!: string | null;

  @Column('int', { default: 1 })
  minSeats!: number;

  @Column('int', { nullable: true })
  maxSeats!: number | null;

  @Column('int', { default: 0 })
  trialDays!: number;

  @Column('jsonb', { default: () => "'[]'" })
  features!: unknown[];

  @Column('jsonb', { default: () => "'{}'" })
  usageLimits!: Record<string, unknown>;

  @Column('jsonb', { default: () => "'[]'" })
  includedProducts!: IncludedProduct[];

  @Column('text', { nullable: true })
  supportLevel!: string | null;

  @Column('boolean', { default: true })
  isPublic!: boolean;

  @Column('boolean', { default: true })
  isActive!: boolean;

  @Column('int', { default: 0 })
  displayOrder!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
