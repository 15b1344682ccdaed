import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { CategoryEntity } from './category.entity.js';
import { PriceTierEntity } from './price-tier.entity.js';

/** A product with its pricing (1:1, so the pricing columns live on the row; tiers in their own table). */
// Constraint and index names as in the hand-written migration, so `migration:generate` sees no drift.
@Entity('products')
@Unique('products_product_code_key', ['productCode'])
@Index('products_category_idx', ['categoryId'])
@Index('products_type_idx', ['productType'])
@Check('products_free_tier_limit_check', 'free_tier_limit >= 0')
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

  @ManyToOne(() => CategoryEntity, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'category_id', referencedColumnName: 'categoryId', foreignKeyConstraintName: 'products_category_id_fkey' })
  category?: CategoryEntity;

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
