import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('usage_records')
export class UsageRecordEntity {
  @PrimaryColumn('uuid')
  usageRecordId!: string;

  /** arrival order (identity): stable newest-first paging; read-only */
  @Column({ type: 'bigint', insert: false, update: false })
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
}
