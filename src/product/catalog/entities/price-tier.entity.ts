import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import type { ProductEntity } from './product.entity.js';

/**
 * One graduated price tier: units in [minUnits, maxUnits) cost unitPrice each (maxUnits null =
 * unbounded). Its primary key is `pricing_id` (the id the admin API and the pricing response use for
 * one tier row); `(product_id, tier_index)` is unique and orders a product's table.
 */
@Entity('product_price_tiers')
@Unique('product_price_tiers_product_tier_key', ['productId', 'tierIndex'])
@Check('product_price_tiers_min_units_check', 'min_units >= 0')
@Check('product_price_tiers_check', 'max_units IS NULL OR max_units > min_units')
@Check('product_price_tiers_unit_price_check', 'unit_price >= 0')
export class PriceTierEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'product_price_tiers_pkey' })
  pricingId!: string;

  @Column('text')
  productId!: string;

  @Column('int')
  tierIndex!: number;

  @Column('text')
  tierName!: string;

  @Column('numeric')
  minUnits!: string;

  @Column('numeric', { nullable: true })
  maxUnits!: string | null;

  @Column('numeric')
  unitPrice!: string;

  @ManyToOne('ProductEntity', 'tiers', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'product_id', referencedColumnName: 'productId', foreignKeyConstraintName: 'product_price_tiers_product_id_fkey' })
  product?: ProductEntity;
}
