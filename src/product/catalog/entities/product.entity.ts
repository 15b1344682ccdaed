import { Column, CreateDateColumn, Entity, OneToMany, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { PriceTierEntity } from './price-tier.entity.js';

/** A product with its pricing (1:1, so the pricing columns live on the row; tiers in their own table). */
@Entity('products')
export class ProductEntity {
  @PrimaryColumn('text')
  productId!: string;

  @Column('text')
  name!: string;

  @Column('text', { nullable: true })
  productCode!: string | null;

  @Column('text', { nullable: true })
  description!: string | null;

  @Column('text')
  categoryId!: string;

  @Column('text')
  productType!: string;

  @Column('text', { nullable: true })
  provider!: string | null;

  @Column('jsonb', { default: () => "'[]'" })
  features!: unknown[];

  @Column('jsonb', { default: () => "'{}'" })
  quotaLimits!: Record<string, unknown>;

  @Column('jsonb', { default: () => "'{}'" })
  metadata!: Record<string, unknown>;

  @Column('boolean', { default: false })
  requiresSubscription!: boolean;

  @Column('boolean', { default: true })
  isActive!: boolean;

  @Column('text')
  pricingType!: string;

  @Column('text')
  unitType!: string;

  @Column('text')
  currency!: string;

  /** numeric, read as an exact decimal string */
  @Column('numeric', { default: 0 })
  freeTierLimit!: string;

  @Column('text', { default: 'monthly' })
  freeTierPeriod!: string;

  @OneToMany(() => PriceTierEntity, (tier) => tier.product, { cascade: false })
  tiers?: PriceTierEntity[];

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
