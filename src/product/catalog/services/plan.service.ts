import { Injectable } from '@nestjs/common';
import { AuditTrail } from '../../../audit/audit-trail.service.js';
import { type CallContext, isInternal, type Principal } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock/clock.js';
import { type JsonView, jsonView } from '../../../common/http/json-view.js';
import { formatDecimal } from '../../../common/money/decimal.js';
import { DEFAULT_LIMIT, decodeCursor, pageHeaders, pageOf } from '../../../common/pagination/page.js';
import type { Tx } from '../../../database/unit-of-work.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog.errors.js';
import { CatalogRepository, type PlanInput } from '../catalog.repository.js';
import { CatalogStore } from '../catalog-store.js';
import type { ListPageQueryDto } from '../dto/category.dto.js';
import type { CreatePlanDto, IncludedProductDto, UpdatePlanDto } from '../dto/plan.dto.js';
import type { PlanEntity } from '../entities/plan.entity.js';
import { type PlanResponse, toPlanResponse } from '../mappers/catalog.mappers.js';
import { CatalogWrites } from './catalog-writes.js';
import { changes } from '../../../common/patch/changes.js';
import { definedEntries, snakeToCamel } from './patch.js';
import { ProductService } from './product.service.js';

/**
 * Service plans: public reads from the in-memory catalog (internal callers also see non-public
 * plans) and internal writes.
 */
@Injectable()
export class PlanService {
  constructor(
    private readonly writes: CatalogWrites,
    private readonly repo: CatalogRepository,
    private readonly store: CatalogStore,
    private readonly products: ProductService,
    private readonly events: EventPublisher,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  /** Active plans by display_order (then id); non-internal callers see public ones only. */
  listView(query: ListPageQueryDto, principal: Principal, requestUrl: string): JsonView {
    const snapshot = this.store.current;
    const internal = isInternal(principal);
    return snapshot.view(`plans ${internal ? 'all' : 'public'} ${requestUrl}`, () => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = decodeCursor(query.cursor, ['number', 'string']) as [number, string] | undefined;
      const rows = snapshot.plans
        .filter(
          (p) =>
            p.isActive &&
            (internal || p.isPublic) &&
            (!after || p.displayOrder > after[0] || (p.displayOrder === after[0] && p.planId > after[1])),
        )
        .slice(0, limit + 1);
      const page = pageOf(rows, limit, toPlanResponse, (p) => [p.displayOrder, p.planId]);
      return jsonView(page.items, pageHeaders(requestUrl, page.nextCursor));
    });
  }

  /** One plan; a non-public plan is 404 PLAN_NOT_FOUND to non-internal callers. */
  view(planId: string, principal: Principal): JsonView {
    const snapshot = this.store.current;
    const plan = snapshot.plan(planId);
    if (!plan || (!plan.isPublic && !isInternal(principal))) throw CatalogErrors.planNotFound(planId);
    return snapshot.view(`plan ${planId}`, () => jsonView(toPlanResponse(plan)));
  }

  /** Every plan, active or not (in memory). */
  all(): readonly PlanEntity[] {
    return this.store.current.plans;
  }

  /** The plan (active or not), or undefined. */
  find(planId: string): PlanEntity | undefined {
    return this.store.current.plan(planId);
  }

  /**
   * A plan this caller may subscribe to: it exists and is active (else 404 PLAN_NOT_FOUND), and it
   * is public unless the caller is an internal service (else 403 PLAN_NOT_AVAILABLE).
   */
  requireSubscribable(planId: string, principal: Principal): PlanEntity {
    const plan = this.find(planId);
    if (!plan || !plan.isActive) throw CatalogErrors.planNotFound(planId);
    if (!plan.isPublic && !isInternal(principal)) throw CatalogErrors.planNotAvailable(planId);
    return plan;
  }

  async create(dto: CreatePlanDto, ctx: CallContext): Promise<PlanResponse> {
    checkSeats(dto.min_seats ?? 1, dto.max_seats ?? null);
    return this.writes.run(async (tx) => {
      await this.requireProducts(tx, dto.included_products ?? []);
      const inserted = await this.repo.insertPlan(tx, toPlanInput(dto), this.clock.now());
      if (!inserted) throw CatalogErrors.planExists(dto.plan_id);
      await this.events.publishCatalogChanged(tx, { entity: 'plan', id: dto.plan_id, change: 'created' }, ctx);
      const after = toPlanResponse((await this.repo.findPlan(tx, dto.plan_id))!);
      await this.audit.record(tx, { action: 'create', resourceType: 'plan', resourceId: dto.plan_id, before: null, after }, ctx);
      return after;
    });
  }

  async update(planId: string, dto: UpdatePlanDto, ctx: CallContext): Promise<PlanResponse> {
    const given = definedEntries(dto);
    return this.writes.run(async (tx) => {
      const plan = await this.repo.lockPlan(tx, planId);
      if (!plan) throw CatalogErrors.planNotFound(planId);
      const before = toPlanResponse(plan);
      if (given.length === 0) return before;
      checkSeats(dto.min_seats ?? plan.minSeats, dto.max_seats === undefined || dto.max_seats === null ? plan.maxSeats : dto.max_seats);
      if (dto.included_products) await this.requireProducts(tx, dto.included_products);
      const patch: Record<string, unknown> = { updatedAt: this.clock.now() };
      for (const [key, value] of given) {
        const prop = snakeToCamel(key);
        if (key === 'included_credits' || key === 'max_rollover_credits') patch[prop] = formatDecimal(value as string | number);
        else if (key === 'included_products') patch[prop] = normaliseIncluded(value as IncludedProductDto[]);
        else patch[prop] = value;
      }
      if (!changes(plan, patch)) return before; // every given field as it is: nothing written, nothing published
      await this.repo.updatePlan(tx, planId, patch);
      const retired = plan.isActive && dto.is_active === false;
      await this.events.publishCatalogChanged(tx, { entity: 'plan', id: planId, change: retired ? 'retired' : 'updated' }, ctx);
      const after = toPlanResponse((await this.repo.findPlan(tx, planId))!);
      await this.audit.record(tx, { action: retired ? 'retire' : 'update', resourceType: 'plan', resourceId: planId, before, after }, ctx);
      return after;
    });
  }

  /** 422 PRODUCT_NOT_FOUND when a plan includes a product that does not exist. */
  private async requireProducts(tx: Tx, included: IncludedProductDto[]): Promise<void> {
    const missing = await this.products.missing(tx, [...new Set(included.map((i) => i.product_id))]);
    if (missing.length > 0) throw CatalogErrors.productsUnknown(missing);
  }
}

function checkSeats(min: number, max: number | null): void {
  if (max !== null && max < min) throw CatalogErrors.invalidSeatRange();
}

/** Included amounts as PostgreSQL keeps a numeric such as included_credits: "007.50" → "7.50" (scale kept). */
const normaliseIncluded = (items: IncludedProductDto[]): PlanInput['included_products'] =>
  items.map((i) => ({ product_id: i.product_id, included_amount: i.included_amount?.replace(/^0+(?=\d)/, '') ?? null }));

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
