import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditTrail } from '../../audit/audit-trail.service.js';
import type { CallContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { invalidField } from '../../common/errors/domain-error.js';
import { decimalInput } from '../../common/money/decimal.js';
import { decodeCursor, DEFAULT_LIMIT, type Page, pageOf } from '../../common/pagination/page.js';
import { changes } from '../../common/patch/changes.js';
import { parseTimestamp } from '../../common/time/timestamp.js';
import { PgNotifications } from '../../database/pg-notifications.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import type { CostDefinitionsChangedData } from '../../events/models/event-data.js';
import { COST_DEFINITIONS_CHANNEL, CostDefinitionStore } from './cost-definition-store.js';
import type { CostDefinitionEntity } from './cost-definition.entity.js';
import { type CostDefinitionInput, CostDefinitionRepository } from './cost-definition.repository.js';
import { type CostDefinitionResponse, toCostDefinitionResponse } from './cost-definition.mapper.js';
import { CostErrors } from './cost.errors.js';
import type {
  CostLookupQuery,
  CreateCostDefinitionDto,
  ListCostDefinitionsQuery,
  PageQuery,
  UpdateCostDefinitionDto,
} from './dto/cost-definition.dto.js';

export interface CostLookupResponse {
  success: true;
  message: string;
  cost_definition: CostDefinitionResponse;
  cost_per_unit: string;
  unit_type: string;
  unit_size: string;
  free_tier_limit: string | null;
  free_tier_period: string | null;
}

export interface RotationResult {
  rotated: number;
  details: { cost_id: string; replaced_cost_id: string | null }[];
}

/** A timestamp the DTO already validated. */
const at = (value: string): Date => parseTimestamp(value) as Date;
const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/**
 * Provider cost definitions (SPEC section 7): the internal admin API's rules and the lookup. Every
 * write is one unit of work that takes the cost-definition write lock, changes rows, writes
 * `product.cost_definitions.changed` to the outbox and an audit entry per definition, and NOTIFYs
 * the other replicas; it answers once this replica's in-memory definitions have the change.
 */
@Injectable()
export class CostDefinitionService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CostDefinitionRepository,
    private readonly store: CostDefinitionStore,
    private readonly notifications: PgNotifications,
    private readonly events: EventPublisher,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  /** GET /costs/lookup: the definition the matching rule picks now, from memory; 404 COST_DEFINITION_NOT_FOUND when none. */
  lookup(q: CostLookupQuery): CostLookupResponse {
    const found = this.store.lookup(
      {
        serviceType: q.service_type,
        productId: q.product_id,
        provider: q.provider,
        modelName: q.model_name,
        operationType: q.operation_type,
        unitType: q.unit_type,
      },
      this.clock.now(),
    );
    if (!found) throw CostErrors.noMatch(q.service_type);
    return {
      success: true,
      message: 'Cost definition found',
      cost_definition: toCostDefinitionResponse(found),
      cost_per_unit: found.costPerUnit,
      unit_type: found.unitType,
      unit_size: found.unitSize,
      free_tier_limit: found.freeTierLimit,
      free_tier_period: found.freeTierPeriod,
    };
  }

  /** GET /admin/cost-definitions: filtered, keyset-paged by cost_id. */
  list(q: ListCostDefinitionsQuery): Promise<Page<CostDefinitionResponse>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(q.cursor, ['string'])?.[0] as string | undefined;
    const filters = { isActive: q.is_active, provider: q.provider, serviceType: q.service_type };
    return this.uow.read(async (tx) =>
      pageOf(await this.repo.list(tx, filters, limit + 1, after), limit, toCostDefinitionResponse, (d) => [d.costId]),
    );
  }

  /** GET /admin/cost-definitions/history/{model_name}: every version, newest effective_from first. */
  history(modelName: string, q: PageQuery): Promise<Page<CostDefinitionResponse>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const position = decodeCursor(q.cursor, ['string', 'string']) as [string, string] | undefined;
    const after = position ? { effectiveFrom: cursorTime(position[0]), costId: position[1] } : undefined;
    return this.uow.read(async (tx) =>
      pageOf(await this.repo.history(tx, modelName, limit + 1, after), limit, toCostDefinitionResponse, (d) => [
        d.effectiveFrom.toISOString(),
        d.costId,
      ]),
    );
  }

  create(dto: CreateCostDefinitionDto, ctx: CallContext): Promise<CostDefinitionResponse> {
    const input = this.toInput(dto);
    return this.write(async (tx) => {
      const created = await this.insert(tx, input, 'create', ctx);
      await this.publish(tx, { cost_ids: [created.cost_id], change: 'created' }, ctx);
      return created;
    });
  }

  /** PUT /admin/cost-definitions/{cost_id}: the given fields change; is_active true → false retires it. */
  update(costId: string, dto: UpdateCostDefinitionDto, ctx: CallContext): Promise<CostDefinitionResponse> {
    return this.write(async (tx) => {
      const current = await this.repo.lock(tx, costId);
      if (!current) throw CostErrors.notFound(costId);
      const before = toCostDefinitionResponse(current);
      const patch = patchOf(dto);
      // the given fields as they are (an empty PUT, a retired definition retired again): nothing written, audited or published
      if (!changes(current, patch)) return before;
      const from = patch.effectiveFrom ?? current.effectiveFrom;
      const until = patch.effectiveUntil !== undefined ? patch.effectiveUntil : current.effectiveUntil;
      checkWindow(from, until);
      await this.repo.update(tx, costId, { ...patch, updatedAt: this.clock.now() });
      const after = toCostDefinitionResponse((await this.repo.find(tx, costId))!);
      const retired = current.isActive && patch.isActive === false;
      await this.audit.record(
        tx,
        { action: retired ? 'retire' : 'update', resourceType: 'cost_definition', resourceId: costId, before, after },
        ctx,
      );
      await this.publish(tx, { cost_ids: [costId], change: retired ? 'retired' : 'updated' }, ctx);
      return after;
    });
  }

  /**
   * POST /admin/cost-definitions/rotate, atomically: for each new definition in order, every active
   * definition with the same (service_type, provider, model_name, operation_type) still open at its
   * effective_from gets effective_until = that effective_from, then the new one is inserted. A
   * version it would replace that starts at or after it is 409 COST_ROTATION_CONFLICT; a cost_id
   * that exists is 409 COST_DEFINITION_EXISTS; either rolls the whole rotation back.
   */
  rotate(dtos: readonly CreateCostDefinitionDto[], ctx: CallContext): Promise<RotationResult> {
    const inputs = dtos.map((d) => this.toInput(d));
    return this.write(async (tx) => {
      const details: RotationResult['details'] = [];
      const touched: string[] = [];
      for (const input of inputs) {
        const replaced = await this.repo.openVersions(tx, input, input.effectiveFrom);
        for (const old of replaced) {
          if (old.effectiveFrom.getTime() >= input.effectiveFrom.getTime()) throw CostErrors.rotationConflict(input.costId, old.costId);
          await this.repo.update(tx, old.costId, { effectiveUntil: input.effectiveFrom, updatedAt: this.clock.now() });
          const after = toCostDefinitionResponse((await this.repo.find(tx, old.costId))!);
          const change = { action: 'rotate', resourceType: 'cost_definition' as const, resourceId: old.costId };
          await this.audit.record(tx, { ...change, before: toCostDefinitionResponse(old), after }, ctx);
          details.push({ cost_id: input.costId, replaced_cost_id: old.costId });
          touched.push(old.costId);
        }
        await this.insert(tx, input, 'rotate', ctx);
        if (replaced.length === 0) details.push({ cost_id: input.costId, replaced_cost_id: null });
        touched.push(input.costId);
      }
      await this.publish(tx, { cost_ids: [...new Set(touched)], change: 'rotated' }, ctx);
      return { rotated: inputs.length, details };
    });
  }

  /** One unit of work under the write lock that NOTIFYs the replicas and reloads this one after the commit. */
  private write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.uow.run(async (tx) => {
      await this.repo.lockForWrite(tx);
      const out = await work(tx);
      await this.notifications.notifyInTransaction(tx, COST_DEFINITIONS_CHANNEL);
      tx.afterCommit(() => this.store.refresh());
      return out;
    });
  }

  private async insert(tx: Tx, input: CostDefinitionInput, action: string, ctx: CallContext): Promise<CostDefinitionResponse> {
    if (!(await this.repo.insert(tx, input, this.clock.now()))) throw CostErrors.exists(input.costId);
    const after = toCostDefinitionResponse((await this.repo.find(tx, input.costId))!);
    await this.audit.record(tx, { action, resourceType: 'cost_definition', resourceId: input.costId, before: null, after }, ctx);
    return after;
  }

  private publish(tx: Tx, data: CostDefinitionsChangedData, ctx: CallContext): Promise<string> {
    return this.events.publishCostDefinitionsChanged(tx, data, ctx);
  }

  /** A new definition with its defaults (effective_from: now). */
  private toInput(dto: CreateCostDefinitionDto): CostDefinitionInput {
    const effectiveFrom = given(dto.effective_from) ? at(dto.effective_from) : this.clock.now();
    const effectiveUntil = given(dto.effective_until) ? at(dto.effective_until) : null;
    checkWindow(effectiveFrom, effectiveUntil);
    return {
      costId: dto.cost_id ?? `cost_${randomUUID()}`,
      productId: dto.product_id ?? null,
      serviceType: dto.service_type,
      provider: dto.provider ?? null,
      modelName: dto.model_name ?? null,
      operationType: dto.operation_type ?? null,
      costPerUnit: decimalInput(dto.cost_per_unit),
      unitType: dto.unit_type,
      unitSize: given(dto.unit_size) ? decimalInput(dto.unit_size) : '1',
      currency: dto.currency ?? 'USD',
      originalCostUsd: given(dto.original_cost_usd) ? decimalInput(dto.original_cost_usd) : null,
      marginPercentage: given(dto.margin_percentage) ? decimalInput(dto.margin_percentage) : null,
      effectiveFrom,
      effectiveUntil,
      freeTierLimit: given(dto.free_tier_limit) ? decimalInput(dto.free_tier_limit) : null,
      freeTierPeriod: dto.free_tier_period ?? null,
      isActive: dto.is_active ?? true,
      description: dto.description ?? null,
      metadata: dto.metadata ?? {},
    };
  }
}

/** The entity columns a PUT changes: only the fields given (absent and null both mean "unchanged"). */
function patchOf(dto: UpdateCostDefinitionDto): Partial<CostDefinitionEntity> {
  const patch: Partial<CostDefinitionEntity> = {};
  if (given(dto.product_id)) patch.productId = dto.product_id;
  if (given(dto.service_type)) patch.serviceType = dto.service_type;
  if (given(dto.provider)) patch.provider = dto.provider;
  if (given(dto.model_name)) patch.modelName = dto.model_name;
  if (given(dto.operation_type)) patch.operationType = dto.operation_type;
  if (given(dto.cost_per_unit)) patch.costPerUnit = decimalInput(dto.cost_per_unit);
  if (given(dto.unit_type)) patch.unitType = dto.unit_type;
  if (given(dto.unit_size)) patch.unitSize = decimalInput(dto.unit_size);
  if (given(dto.currency)) patch.currency = dto.currency;
  if (given(dto.original_cost_usd)) patch.originalCostUsd = decimalInput(dto.original_cost_usd);
  if (given(dto.margin_percentage)) patch.marginPercentage = decimalInput(dto.margin_percentage);
  if (given(dto.effective_from)) patch.effectiveFrom = at(dto.effective_from);
  if (given(dto.effective_until)) patch.effectiveUntil = at(dto.effective_until);
  if (given(dto.free_tier_limit)) patch.freeTierLimit = decimalInput(dto.free_tier_limit);
  if (given(dto.free_tier_period)) patch.freeTierPeriod = dto.free_tier_period;
  if (given(dto.is_active)) patch.isActive = dto.is_active;
  if (given(dto.description)) patch.description = dto.description;
  if (given(dto.metadata)) patch.metadata = dto.metadata;
  return patch;
}

function checkWindow(from: Date, until: Date | null): void {
  if (until !== null && until.getTime() <= from.getTime())
    throw invalidField('effective_until', 'effective_until must be after effective_from');
}

/** A history cursor's instant (an ISO string this service issued); 400 otherwise. */
function cursorTime(value: string): Date {
  const t = parseTimestamp(value);
  if (!t) throw invalidField('cursor', 'cursor is not one this service issued');
  return t;
}
