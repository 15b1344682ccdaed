import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { ProductEntity } from './product.entity.js';

/** One graduated price tier: units in [minUnits, maxUnits) cost unitPrice each (maxUnits null = unbounded). */
@Entity('product_price_tiers')
export class PriceTierEntity {
  @PrimaryColumn('text')
  productId!: string;

  @PrimaryColumn('int')
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
  @JoinColumn({ name: 'product_id', referencedColumnName: 'productId' })
  product?: ProductEntity;
}
