import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * One version of a provider cost definition (SPEC section 7): `cost_per_unit` per `unit_size` units,
 * valid over [effectiveFrom, effectiveUntil). A null `productId` / `provider` / `modelName` /
 * `operationType` matches any value in a lookup.
 */
// Constraint and index names as in the hand-written migration (CreateCostDefinitions).
@Entity('cost_definitions')
@Index('cost_definitions_service_type_idx', ['serviceType'])
@Check('cost_definitions_cost_per_unit_check', 'cost_per_unit >= 0')
@Check('cost_definitions_unit_size_check', 'unit_size > 0')
export class CostDefinitionEntity {
  @PrimaryColumn('text')
  costId!: string;

  @Column('text', { nullable: true })
  productId!: string | null;

  @Column('text')
  serviceType!: string;

  @Column('text', { nullable: true })
  provider!: string | null;

  @Column('text', { nullable: true })
  modelName!: string | null;

  @Column('text', { nullable: true })
  operationType!: string | null;

  /** numeric, exact decimal string as written */
  @Column('numeric')
  costPerUnit!: string;

  @Column('text')
  unitType!: string;

  @Column('numeric', { default: 1 })
  unitSize!: string;

  @Column('text', { default: 'USD' })
  currency!: string;

  @Column('numeric', { nullable: true })
  originalCostUsd!: string | null;

  @Column('numeric', { nullable: true })
  marginPercentage!: string | null;

  @Column('timestamptz')
  effectiveFrom!: Date;

  @Column('timestamptz', { nullable: true })
  effectiveUntil!: Date | null;

  @Column('numeric', { nullable: true })
  freeTierLimit!: string | null;

  @Column('text', { nullable: true })
  freeTierPeriod!: string | null;

  @Column('boolean', { default: true })
  isActive!: boolean;

  @Column('text', { nullable: true })
  description!: string | null;

  @Column('jsonb', { default: () => "'{}'" })
  metadata!: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
