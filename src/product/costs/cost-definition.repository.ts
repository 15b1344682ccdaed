import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm';
import { managerOf, type Tx } from '../../database/transaction.js';
import { CostDefinitionEntity } from './cost-definition.entity.js';

/** Arbitrary constant: the transaction-scoped advisory lock that serialises cost-definition writes (rare). */
const COST_WRITE_LOCK = 815_218;

/** The columns of an insert (everything but the timestamps the repository sets). */
export type CostDefinitionInput = Omit<CostDefinitionEntity, 'createdAt' | 'updatedAt'>;

export interface CostListFilters {
  isActive?: boolean;
  provider?: string;
  serviceType?: string;
}

/** The four fields that make two definitions versions of one cost (rotation replaces within them). */
export interface CostKey {
  serviceType: string;
  provider: string | null;
  modelName: string | null;
  operationType: string | null;
}

/** All SQL of provider cost definitions. */
@Injectable()
export class CostDefinitionRepository {
  /**
   * Serialises cost-definition writes for the rest of the transaction: a rotation then sees every
   * version committed before it (READ COMMITTED: each later statement takes a fresh snapshot).
   */
  async lockForWrite(tx: Tx): Promise<void> {
    await managerOf(tx).query('SELECT pg_advisory_xact_lock($1)', [COST_WRITE_LOCK]);
  }

  /** Inserts a definition; false when its cost_id exists. */
  async insert(tx: Tx, d: CostDefinitionInput, now: Date): Promise<boolean> {
    const rows: unknown[] = await managerOf(tx).query(
      `INSERT INTO cost_definitions (cost_id, product_id, service_type, provider, model_name, operation_type, cost_per_unit, unit_type,
         unit_size, currency, original_cost_usd, margin_percentage, effective_from, effective_until, free_tier_limit, free_tier_period,
         is_active, description, metadata, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19::jsonb, $20, $20)
       ON CONFLICT DO NOTHING RETURNING cost_id`,
      [
        d.costId,
        d.productId,
        d.serviceType,
        d.provider,
        d.modelName,
        d.operationType,
        d.costPerUnit,
        d.unitType,
        d.unitSize,
        d.currency,
        d.originalCostUsd,
        d.marginPercentage,
        d.effectiveFrom,
        d.effectiveUntil,
        d.freeTierLimit,
        d.freeTierPeriod,
        d.isActive,
        d.description,
        JSON.stringify(d.metadata ?? {}),
        now,
      ],
    );
    return rows.length === 1;
  }

  find(tx: Tx, costId: string): Promise<CostDefinitionEntity | null> {
    return managerOf(tx).findOneBy(CostDefinitionEntity, { costId });
  }

  lock(tx: Tx, costId: string): Promise<CostDefinitionEntity | null> {
    return managerOf(tx)
      .createQueryBuilder(CostDefinitionEntity, 'c')
      .where('c.cost_id = :costId', { costId })
      .setLock('pessimistic_write')
      .getOne();
  }

  async update(tx: Tx, costId: string, patch: Partial<CostDefinitionEntity>): Promise<void> {
    await managerOf(tx).update(CostDefinitionEntity, { costId }, patch as QueryDeepPartialEntity<CostDefinitionEntity>);
  }

  /**
   * Active definitions of one cost key still open at `from` (effective_until null or later), locked:
   * what a rotation starting at `from` replaces.
   */
  openVersions(tx: Tx, key: CostKey, from: Date): Promise<CostDefinitionEntity[]> {
    return managerOf(tx)
      .createQueryBuilder(CostDefinitionEntity, 'c')
      .where('c.is_active AND c.service_type = :serviceType', { serviceType: key.serviceType })
      .andWhere('c.provider IS NOT DISTINCT FROM CAST(:provider AS text)', { provider: key.provider })
      .andWhere('c.model_name IS NOT DISTINCT FROM CAST(:modelName AS text)', { modelName: key.modelName })
      .andWhere('c.operation_type IS NOT DISTINCT FROM CAST(:operationType AS text)', { operationType: key.operationType })
      .andWhere('(c.effective_until IS NULL OR c.effective_until > :from)', { from })
      .orderBy('c.cost_id', 'ASC')
      .setLock('pessimistic_write')
      .getMany();
  }

  /** Every active definition not expired at `now`: what the in-memory lookup holds. */
  loadActive(tx: Tx, now: Date): Promise<CostDefinitionEntity[]> {
    return managerOf(tx)
      .createQueryBuilder(CostDefinitionEntity, 'c')
      .where('c.is_active AND (c.effective_until IS NULL OR c.effective_until > :now)', { now })
      .orderBy('c.cost_id', 'ASC')
      .getMany();
  }

  /** Filtered, by cost_id, after `afterCostId` when given. */
  list(tx: Tx, f: CostListFilters, limit: number, afterCostId?: string): Promise<CostDefinitionEntity[]> {
    const qb = managerOf(tx).createQueryBuilder(CostDefinitionEntity, 'c');
    if (f.isActive !== undefined) qb.andWhere('c.is_active = :isActive', { isActive: f.isActive });
    if (f.provider !== undefined) qb.andWhere('c.provider = :provider', { provider: f.provider });
    if (f.serviceType !== undefined) qb.andWhere('c.service_type = :serviceType', { serviceType: f.serviceType });
    if (afterCostId !== undefined) qb.andWhere('c.cost_id > :after', { after: afterCostId });
    return qb.orderBy('c.cost_id', 'ASC').limit(limit).getMany();
  }

  /** Every version for a model, newest effective_from first (then cost_id), after the keyset position when given. */
  history(tx: Tx, modelName: string, limit: number, after?: { effectiveFrom: Date; costId: string }): Promise<CostDefinitionEntity[]> {
    const qb = managerOf(tx).createQueryBuilder(CostDefinitionEntity, 'c').where('c.model_name = :modelName', { modelName });
    if (after) {
      qb.andWhere('(c.effective_from < :from OR (c.effective_from = :from AND c.cost_id > :costId))', {
        from: after.effectiveFrom,
        costId: after.costId,
      });
    }
    return qb.orderBy('c.effective_from', 'DESC').addOrderBy('c.cost_id', 'ASC').limit(limit).getMany();
  }
}
