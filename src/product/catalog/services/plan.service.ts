import { Injectable } from '@nestjs/common';
import { type EntityManager, In } from 'typeorm';
import { type CallContext, isInternal } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock/clock.js';
import { badRequest, conflict, ErrorCode, notFound, unprocessable } from '../../../common/errors/domain-error.js';
import { formatDecimal } from '../../../common/money/decimal.js';
import { DEFAULT_LIMIT, decodeCursor, type Page, pageOf } from '../../../common/pagination/page.js';
import { UnitOfWork } from '../../../database/unit-of-work.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import type { ListPageQueryDto } from '../dto/category.dto.js';
import type { CreatePlanDto, IncludedProductDto, UpdatePlanDto } from '../dto/plan.dto.js';
import { PlanEntity } from '../entities/plan.entity.js';
import { ProductEntity } from '../entities/product.entity.js';
import { type PlanResponse, toPlanResponse } from '../mappers/catalog.mappers.js';
import { CatalogRepository, type PlanInput } from './catalog.repository.js';
import { definedEntries } from './product.service.js';

/** Service plans: public reads (internal callers also see non-public plans) and internal writes. */
@Injectable()
export class PlanService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CatalogRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  /** Active plans by display_order (then id); non-internal callers see public ones only. */
  async list(query: ListPageQueryDto, ctx: CallContext): Promise<Page<PlanResponse>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, ['number', 'string']);
    const rows = await this.uow.read(({ manager }) => {
      const qb = manager.createQueryBuilder(PlanEntity, 'p').where('p.is_active = true');
      if (!isInternal(ctx.principal)) qb.andWhere('p.is_public = true');
      if (after) qb.andWhere('(p.display_order, p.plan_id) > (:order, :id)', { order: after[0], id: after[1] });
      return qb
        .orderBy('p.display_order', 'ASC')
        .addOrderBy('p.plan_id', 'ASC')
        .limit(limit + 1)
        .getMany();
    });
    return pageOf(rows, limit, toPlanResponse, (p) => [p.displayOrder, p.planId]);
  }

  /** One plan; a non-public plan is 404 PLAN_NOT_FOUND to non-internal callers. */
  async get(planId: string, ctx: CallContext): Promise<PlanResponse> {
    const plan = await this.uow.read(({ manager }) => manager.findOneBy(PlanEntity, { planId }));
    if (!plan || (!plan.isPublic && !isInternal(ctx.principal))) throw notFound(ErrorCode.PLAN_NOT_FOUND, `Plan ${planId} not found`);
    return toPlanResponse(plan);
  }

  async create(dto: CreatePlanDto, ctx: CallContext): Promise<PlanResponse> {
    checkSeats(dto.min_seats ?? 1, dto.max_seats ?? null);
    return this.uow.run(async (tx) => {
      await this.requireProducts(tx.manager, dto.included_products ?? []);
      const inserted = await this.repo.insertPlan(tx.manager, toPlanInput(dto), this.clock.now());
      if (!inserted) throw conflict(ErrorCode.PLAN_EXISTS, `Plan ${dto.plan_id} already exists`);
      await this.events.publishCatalogChanged(tx, { entity: 'plan', id: dto.plan_id, change: 'created' }, ctx);
      return toPlanResponse(await tx.manager.findOneByOrFail(PlanEntity, { planId: dto.plan_id }));
    });
  }

  async update(planId: string, dto: UpdatePlanDto, ctx: CallContext): Promise<PlanResponse> {
    const changes = definedEntries(dto);
    return this.uow.run(async (tx) => {
      const plan = await tx.manager
        .createQueryBuilder(PlanEntity, 'p')
        .where('p.plan_id = :planId', { planId })
        .setLock('pessimistic_write')
        .getOne();
      if (!plan) throw notFound(ErrorCode.PLAN_NOT_FOUND, `Plan ${planId} not found`);
      if (changes.length === 0) return toPlanResponse(plan);
      checkSeats(dto.min_seats ?? plan.minSeats, dto.max_seats === undefined || dto.max_seats === null ? plan.maxSeats : dto.max_seats);
      if (dto.included_products) await this.requireProducts(tx.manager, dto.included_products);
      const patch: Record<string, unknown> = { updatedAt: this.clock.now() };
      for (const [key, value] of changes) {
        const prop = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        if (key === 'included_credits' || key === 'max_rollover_credits') patch[prop] = formatDecimal(value as string | number);
        else if (key === 'included_products') patch[prop] = normaliseIncluded(value as IncludedProductDto[]);
        else patch[prop] = value;
      }
      await tx.manager.update(PlanEntity, { planId }, patch);
      const retired = plan.isActive && dto.is_active === false;
      await this.events.publishCatalogChanged(tx, { entity: 'plan', id: planId, change: retired ? 'retired' : 'updated' }, ctx);
      return toPlanResponse(await tx.manager.findOneByOrFail(PlanEntity, { planId }));
    });
  }

  /** 422 PRODUCT_NOT_FOUND when a plan includes a product that does not exist. */
  private async requireProducts(manager: EntityManager, included: IncludedProductDto[]): Promise<void> {
    const ids = [...new Set(included.map((i) => i.product_id))];
    if (ids.length === 0) return;
    const found = await manager.findBy(ProductEntity, { productId: In(ids) });
    const missing = ids.filter((id) => !found.some((p) => p.productId === id));
    if (missing.length > 0) throw unprocessable(ErrorCode.PRODUCT_NOT_FOUND, `Included product(s) not found: ${missing.join(', ')}`);
  }
}

function checkSeats(min: number, max: number | null): void {
  if (max !== null && max < min) {
    throw badRequest('Request validation failed', [{ field: 'max_seats', message: 'max_seats must be null or at least min_seats' }]);
  }
}

const normaliseIncluded = (items: IncludedProductDto[]): PlanInput['included_products'] =>
  items.map((i) => ({ product_id: i.product_id, included_amount: i.included_amount ?? null }));

function toPlanInput(dto: CreatePlanDto): PlanInput {
  return {
    plan_id: dto.plan_id,
    name: dto.name,
    plan_tier: dto.plan_tier,
    description: dto.description ?? null,
    monthly_price: dto.monthly_price,
    yearly_price: dto.yearly_price,
    per_seat: dto.per_seat ?? false,
    currency: dto.currency ?? 'USD',
    included_credits: dto.included_credits ?? '0',
    credit_rollover: dto.credit_rollover ?? false,
    max_rollover_credits: dto.max_rollover_credits ?? null,
    target_audience: dto.target_audience ?? null,
    min_seats: dto.min_seats ?? 1,
    max_seats: dto.max_seats ?? null,
    trial_days: dto.trial_days ?? 0,
    features: dto.features ?? [],
    usage_limits: dto.usage_limits ?? {},
    included_products: normaliseIncluded(dto.included_products ?? []),
    support_level: dto.support_level ?? null,
    is_public: dto.is_public ?? true,
    is_active: dto.is_active ?? true,
    display_order: dto.display_order ?? 0,
  };
}
