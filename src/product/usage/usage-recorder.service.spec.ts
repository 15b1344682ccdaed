import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { Clock, ManualClock } from '../../common/clock/clock.js';
import { Decimal } from '../../common/money/decimal.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import type { OutboxMessage } from '../../events/outbox/outbox-message.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import { OutboxSignal } from '../../events/outbox/outbox.signal.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { FakeUnitOfWork, internalCall, RecordingOutbox, testConfig } from '../../testing/doubles.js';
import type { PriceTierEntity } from '../catalog/entities/price-tier.entity.js';
import { type PriceSchedule, priceRecord } from '../catalog/pricing-engine.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { ProductService } from '../catalog/services/product.service.js';
import { CostDefinitionStore } from '../costs/cost-definition-store.js';
import { SubscriptionQueries } from '../subscriptions/subscription-queries.service.js';
import type { RecordUsageDto } from './dto/usage.dto.js';
import { GroupCommits } from '../../database/group-commit.js';
import { GroupedKeys } from '../../idempotency/grouped-keys.service.js';
import { Memberships } from '../subscriptions/memberships.service.js';
import { UsageRecorder } from './usage-recorder.service.js';
import { UsageQuotaRepository } from './usage-quota.repository.js';
import { UsageQuotas } from './usage-quotas.service.js';
import type { UsageRecordEntity } from './usage-record.entity.js';
import { type GroupOutcome, type GroupRecord, RequestIdTaken, UsageRepository } from './usage.repository.js';

/**
 * usage_records and usage_period_totals in memory, with the request_id uniqueness of the real table
 * and the group statement's semantics (UsageRepository.recordGroup), priced by the pricing engine.
 */
class InMemoryUsage {
  readonly records: UsageRecordEntity[] = [];
  readonly totals = new Map<string, Decimal>();
  /** records another request stores between our statement's snapshot and its insert (a race) */
  raceOnce: UsageRecordEntity[] = [];
  /** records other writers store one at a time, one before each of our statements that collides with the next */
  racing: UsageRecordEntity[] = [];

  constructor(private readonly outbox: RecordingOutbox) {}

  findByRequestIds(_tx: unknown, keys: { userId: string; productId: string; requestId: string }[]): Promise<UsageRecordEntity[]> {
    return Promise.resolve(
      this.records.filter((r) => keys.some((k) => k.userId === r.userId && k.productId === r.productId && k.requestId === r.requestId)),
    );
  }

  recordGroup(_tx: unknown, group: GroupRecord[], schedules: Map<string, PriceSchedule>): Promise<GroupOutcome[]> {
    const sameKey = (r: UsageRecordEntity, s: UsageRecordEntity) =>
      r.requestId !== null && s.userId === r.userId && s.productId === r.productId && s.requestId === r.requestId;
    if (this.raceOnce.length > 0 && group.some((g) => this.raceOnce.some((s) => sameKey(g.record, s)))) {
      this.records.push(...this.raceOnce.splice(0)); // the other writer committed first
    }
    if (this.racing.length > 0 && group.some((g) => sameKey(g.record, this.racing[0])))
      this.records.push(this.racing.shift() as UsageRecordEntity);
    // a request_id stored already fails the insert: nothing is written
    if (group.some((g) => this.records.some((s) => sameKey(g.record, s)))) return Promise.reject(new RequestIdTaken());
    const outcomes: GroupOutcome[] = [];
    const fresh = group;
    for (const g of fresh) {
      const key = `${g.record.userId}|${g.record.productId}|${g.subscriptionKey}|${g.record.periodStart.toISOString()}`;
      const before = this.totals.get(key) ?? new Decimal(0);
      const amount = new Decimal(g.record.usageAmount);
      this.totals.set(key, before.plus(amount));
      const price = priceRecord(schedules.get(g.record.productId) as PriceSchedule, before, amount);
      const outcome = {
        ord: g.ord,
        unitsBefore: before.toFixed(),
        unitPrice: price.unitPrice.toFixed(),
        totalCost: price.cost.toFixed(),
        isFreeTier: price.isFreeTier,
      };
      this.records.push({ ...g.record, ...outcome });
      const fills = [JSON.stringify(outcome.unitPrice), JSON.stringify(outcome.totalCost), String(outcome.isFreeTier)];
      const envelope = JSON.parse(g.event.parts.map((part, i) => part + (fills[i] ?? '')).join('')) as OutboxMessage['envelope'];
      this.outbox.messages.push({ ...g.event, envelope });
      outcomes.push(outcome);
    }
    return Promise.resolve(outcomes);
  }
}

const tier = (i: number, min: string, max: string | null, price: string): PriceTierEntity => ({
  pricingId: `00000000-0000-4000-8000-00000000000${i}`,
  productId: 'minio',
  tierIndex: i,
  tierName: `t${i}`,
  minUnits: min,
  maxUnits: max,
  unitPrice: price,
});

const products: Record<string, ProductEntity> = {
  minio: {
    productId: 'minio',
    name: 'MinIO',
    isActive: true,
    requiresSubscription: false,
    currency: 'USD',
    freeTierLimit: '1073741824',
    tiers: [tier(0, '0', null, '0.000000000023')],
  } as ProductEntity,
  retired: {
    productId: 'retired',
    isActive: false,
    requiresSubscription: false,
    currency: 'USD',
    freeTierLimit: '0',
    tiers: [],
  } as unknown as ProductEntity,
};

const dto = (over: Partial<RecordUsageDto>): RecordUsageDto => ({ user_id: 'u1', product_id: 'minio', usage_amount: 1073741824, ...over });

describe('UsageRecorder (repository, catalog and subscriptions swapped by overrideProvider)', () => {
  let recorder: UsageRecorder;
  let usage: InMemoryUsage;
  let outbox: RecordingOutbox;
  let uow: FakeUnitOfWork;

  beforeEach(async () => {
    outbox = new RecordingOutbox();
    usage = new InMemoryUsage(outbox);
    uow = new FakeUnitOfWork();
    const module = await Test.createTestingModule({
      providers: [
        UsageRecorder,
        UsageRepository,
        EventPublisher,
        OutboxRepository,
        OutboxSignal,
        UnitOfWork,
        {
          provide: ProductService,
          useValue: {
            findMany: (ids: string[]) =>
              ids.filter((id) => products[id]).map((id) => ({ product: products[id], tiers: products[id].tiers })),
          },
        },
        { provide: SubscriptionQueries, useValue: { findByIds: () => Promise.resolve([]), entitlingOf: () => Promise.resolve([]) } },
        // provider cost: 0.5 per unit of minio, none for anything else
        {
          provide: CostDefinitionStore,
          useValue: {
            providerCostOf: (p: ProductEntity, amount: Decimal) => (p.productId === 'minio' ? amount.times('0.5').toFixed() : null),
          },
        },
        // no user has plan limits here (the quota groups are proven end to end: test/usage-metering.e2e-spec.ts)
        {
          provide: UsageQuotas,
          useValue: {
            knownSubscriptions: (ids: Iterable<string>) => ({ known: new Map([...ids].map((u) => [u, []])), missing: [], version: 0 }),
            remember: () => undefined,
            countersFor: () => [],
          },
        },
        { provide: UsageQuotaRepository, useValue: {} },
        // the calls here are internal: no membership is asked (a user's organizations: test/usage.e2e-spec.ts)
        { provide: Memberships, useValue: {} },
        // no request here sends an Idempotency-Key (keyed groups: test/usage-keyed-group-commit.e2e-spec.ts)
        { provide: GroupedKeys, useValue: {} },
        GroupCommits,
        { provide: Clock, useValue: new ManualClock('2026-11-25T10:00:00.000Z') },
        { provide: ConfigService, useValue: testConfig() },
      ],
    })
      .overrideProvider(UsageRepository)
      .useValue(usage)
      .overrideProvider(OutboxRepository)
      .useValue(outbox)
      .overrideProvider(UnitOfWork)
      .useValue(uow)
      .compile();
    recorder = module.get(UsageRecorder);
  });

  it('should price each record over the units it takes from the running total (the SPEC minio example)', async () => {
    const free = await recorder.recordOne(dto({ request_id: 'a' }), internalCall);
    const paid = await recorder.recordOne(dto({ request_id: 'b' }), internalCall);
    expect(free.record).toMatchObject({ unitsBefore: '0', totalCost: '0', isFreeTier: true });
    expect(paid.record).toMatchObject({ unitsBefore: '1073741824', totalCost: '0.024696061952', isFreeTier: false });
    expect(outbox.types()).toEqual(['product.usage.recorded', 'product.usage.recorded']);
  });

  it('should store the provider cost the in-memory cost definitions give for each record', async () => {
    const outcome = await recorder.recordOne(dto({ usage_amount: 3 }), internalCall);
    expect(outcome.record.providerCost).toBe('1.5');
    expect(usage.records[0].providerCost).toBe('1.5');
  });

  it('should store a request_id once: a stored repeat and a repeat inside one batch point at the first record', async () => {
    const first = await recorder.recordOne(dto({ request_id: 'r1', usage_amount: 5 }), internalCall);
    const batch = await recorder.recordBatch(
      {
        records: [
          dto({ request_id: 'r1', usage_amount: 5 }),
          dto({ request_id: 'r2', usage_amount: 7 }),
          dto({ request_id: 'r2', usage_amount: 7 }),
        ],
        invalid: [],
      },
      internalCall,
    );
    expect(batch.map((o) => o.duplicate)).toEqual([true, false, true]);
    expect(batch[0].record.usageRecordId).toBe(first.record.usageRecordId);
    expect(batch[2].record.usageRecordId).toBe(batch[1].record.usageRecordId);
    expect(usage.records).toHaveLength(2);
    expect(outbox.types()).toHaveLength(2);
  });

  it('should refuse a whole batch naming each bad index, storing nothing', async () => {
    await expect(
      recorder.recordBatch(
        { records: [dto({ usage_amount: 1 }), dto({ product_id: 'retired' }), dto({ product_id: 'nope' })], invalid: [] },
        internalCall,
      ),
    ).rejects.toMatchObject({
      kind: 'invalid',
      details: [
        { index: 1, field: 'records[1].product_id', message: 'PRODUCT_INACTIVE: Product retired is not active' },
        { index: 2, field: 'records[2].product_id', message: 'PRODUCT_NOT_FOUND: Product nope not found' },
      ],
    });
    // with the pipe's problems (a malformed record, a bad amount) and the recorder's, in index order, in one 400
    await expect(
      recorder.recordBatch(
        {
          records: [dto({ product_id: 'nope' }), {} as RecordUsageDto, dto({ usage_amount: 1 }), dto({ usage_timestamp: 'not a time' })],
          invalid: [{ index: 1, field: 'records[1]', message: 'each record must be a JSON object' }],
        },
        internalCall,
      ),
    ).rejects.toMatchObject({
      kind: 'invalid',
      details: [
        { index: 0, field: 'records[0].product_id', message: 'PRODUCT_NOT_FOUND: Product nope not found' },
        { index: 1, field: 'records[1]', message: 'each record must be a JSON object' },
        { index: 3, field: 'records[3].usage_timestamp', message: 'usage_timestamp is invalid' },
      ],
    });
    expect(usage.records).toHaveLength(0);
    await expect(recorder.recordOne(dto({ product_id: 'nope' }), internalCall)).rejects.toMatchObject({
      code: 'PRODUCT_NOT_FOUND',
      kind: 'rejected',
    });
  });

  it('should redo the unit of work when a concurrent request stored the same request_id first, answering it as a duplicate', async () => {
    const theirs = { userId: 'u1', productId: 'minio', requestId: 'race', usageRecordId: 'theirs' } as UsageRecordEntity;
    usage.raceOnce = [theirs];
    const outcome = await recorder.recordOne(dto({ request_id: 'race' }), internalCall);
    expect(outcome).toMatchObject({ duplicate: true, record: { usageRecordId: 'theirs' } });
    expect(uow.rollbacks).toBe(1);
  });

  it('should redo the statement as long as each round finds another stored request_id, however many writers race (no 503)', async () => {
    // five other writers store the batch's five request_ids one by one, each just before our next statement
    usage.racing = [0, 1, 2, 3, 4].map(
      (i) => ({ userId: 'u1', productId: 'minio', requestId: `r${i}`, usageRecordId: `theirs-${i}` }) as UsageRecordEntity,
    );
    const batch = await recorder.recordBatch(
      { records: [0, 1, 2, 3, 4, 5].map((i) => dto({ request_id: `r${i}`, usage_amount: 1 })), invalid: [] },
      internalCall,
    );
    expect(batch.map((o) => [o.duplicate, o.record.usageRecordId])).toEqual([
      ...[0, 1, 2, 3, 4].map((i) => [true, `theirs-${i}`]),
      [false, batch[5].record.usageRecordId],
    ]);
    expect(usage.records.filter((r) => r.requestId === 'r5')).toHaveLength(1);
    expect(outbox.types()).toHaveLength(1);
  });
});
