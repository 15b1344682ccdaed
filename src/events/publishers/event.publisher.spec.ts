import type { ConfigService } from '@nestjs/config';
import { ManualClock } from '../../common/clock/clock.js';
import { Decimal } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import type { Tx } from '../../database/unit-of-work.js';
import type { OutboxMessage } from '../outbox/outbox-message.js';
import type { OutboxRepository } from '../outbox/outbox.repository.js';
import { OutboxSignal } from '../outbox/outbox.signal.js';
import { EventPublisher } from './event.publisher.js';

function setup() {
  const written: OutboxMessage[] = [];
  const hooks: (() => void)[] = [];
  const tx: Tx = { afterCommit: (hook: () => void) => hooks.push(hook) };
  const outbox = {
    insert: (_tx: Tx, messages: OutboxMessage[]) => Promise.resolve(void written.push(...messages)),
  } as unknown as OutboxRepository;
  const config = {
    get: (key: string) => ({ serviceName: 'product_service', nats: { subjectPrefix: 'events' } })[key],
  } as unknown as ConfigService<AppConfig, true>;
  const signal = new OutboxSignal();
  let raised = 0;
  signal.listen(() => raised++);
  const publisher = new EventPublisher(new ManualClock('2026-11-27T10:00:00.000Z'), outbox, signal, config);
  // as stored: the envelope goes through JSON (jsonb)
  const envelopes = () => written.map((m) => ({ subject: m.subject, envelope: JSON.parse(JSON.stringify(m.envelope)) }));
  return { tx, hooks, publisher, envelopes, raised: () => raised };
}

describe('EventPublisher', () => {
  it('should cut a product.usage.recorded template at its three holes, which the writing statement fills', () => {
    const { publisher } = setup();
    const data = {
      usage_record_id: 'rec-1',
      user_id: 'u',
      organization_id: null,
      subscription_id: null,
      product_id: 'gpt-4o',
      usage_amount: '100',
      currency: 'USD',
      session_id: null,
      // a caller's text that looks like the JSON around a hole stays text
      request_id: '","unit_price":',
      usage_details: { note: 'is_free_tier' },
      usage_timestamp: '2026-11-27T10:00:00.000Z',
    };
    const template = publisher.productUsageRecordedTemplate(
      data as unknown as Parameters<EventPublisher['productUsageRecordedTemplate']>[0],
      { requestId: 'req-1', principal: { kind: 'internal' } },
    );
    expect(template.holes).toEqual(['unit_price', 'total_cost', 'is_free_tier']);
    expect(template.parts).toHaveLength(4);
    // what the statement does: the parts with the JSON of each hole's value between them
    const text = template.parts[0] + '"0.5"' + template.parts[1] + '"50"' + template.parts[2] + 'false' + template.parts[3];
    const envelope = JSON.parse(text) as { id: string; data: Record<string, unknown> };
    expect(envelope.id).toBe(template.id);
    expect(envelope.data).toEqual({ ...data, unit_price: '0.5', total_cost: '50', is_free_tier: false });
    // the payload's field order, holes included, as the contract lists it
    expect(Object.keys(envelope.data).slice(5, 10)).toEqual(['usage_amount', 'unit_price', 'total_cost', 'currency', 'is_free_tier']);
  });

  it('should write the envelope with the causing request and event, on events.<service>.<type>, and signal the relay after commit', async () => {
    const { tx, hooks, publisher, envelopes, raised } = setup();
    const id = await publisher.publishSubscriptionPlanChanged(
      tx,
      { subscription_id: 's', user_id: 'u', old_plan_id: 'a', new_plan_id: 'b' },
      { requestId: 'req-1', correlationId: 'evt-9', principal: { kind: 'internal' } },
    );
    const [{ subject, envelope }] = envelopes();
    expect(subject).toBe('events.product_service.subscription.plan_changed');
    expect(envelope).toEqual({
      id,
      type: 'subscription.plan_changed',
      source: 'product_service',
      subject: null,
      timestamp: '2026-11-27T10:00:00.000Z',
      data: { subscription_id: 's', user_id: 'u', old_plan_id: 'a', new_plan_id: 'b' },
      metadata: { request_id: 'req-1', correlation_id: 'evt-9' },
      version: '1.0.0',
    });
    expect(raised()).toBe(0);
    hooks.forEach((h) => h());
    expect(raised()).toBe(1);
  });

  it('should write Dates and Decimals as the wire has them and keep only contract fields', async () => {
    const { tx, publisher, envelopes } = setup();
    await publisher.publishSubscriptionRenewed(
      tx,
      {
        subscription_id: 's',
        user_id: 'u',
        plan_id: 'p',
        price: new Decimal('29.50') as unknown as string,
        currency: 'USD',
        current_period_start: new Date('2026-11-27T10:00:00Z') as unknown as string,
        current_period_end: '2026-12-27T10:00:00.000Z',
        internal: 'x',
      } as never,
      { requestId: '', principal: { kind: 'internal' } },
    );
    const [{ envelope }] = envelopes();
    expect(envelope.data).toEqual({
      subscription_id: 's',
      user_id: 'u',
      plan_id: 'p',
      price: '29.5',
      currency: 'USD',
      current_period_start: '2026-11-27T10:00:00.000Z',
      current_period_end: '2026-12-27T10:00:00.000Z',
    });
    expect(envelope.metadata).toEqual({});
  });

  it('should write status_changed plus the lifecycle event the new status calls for', async () => {
    const { tx, publisher, envelopes } = setup();
    const base = {
      subscription_id: 's',
      user_id: 'u',
      organization_id: null,
      plan_id: 'p',
      plan_tier: 'pro',
      old_status: 'active',
      reason: 'r',
      metadata: {},
    };
    const ctx = { requestId: 'r', principal: { kind: 'internal' as const } };
    await publisher.publishSubscriptionStatusChanged(tx, { ...base, new_status: 'past_due' }, ctx);
    await publisher.publishSubscriptionStatusChanged(tx, { ...base, new_status: 'incomplete_expired' }, ctx);
    await publisher.publishSubscriptionStatusChanged(tx, { ...base, new_status: 'canceled' }, ctx);
    expect(envelopes().map((e) => e.envelope.type)).toEqual([
      'subscription.status_changed',
      'subscription.status_changed',
      'subscription.expired',
      'subscription.status_changed',
      'subscription.canceled',
    ]);
    expect(envelopes()[4].envelope.data.cancellation_reason).toBe('r');
    expect(envelopes()[2].envelope.data.expiration_date).toBeNull();
  });

  it('should give subscription.activated the plan_tier that status_changed does not carry', async () => {
    const { tx, publisher, envelopes } = setup();
    const data = {
      subscription_id: 's',
      user_id: 'u',
      organization_id: null,
      plan_id: 'tier_pro_001',
      plan_tier: 'pro',
      old_status: 'incomplete',
      new_status: 'active',
      reason: 'payment_completed',
      metadata: {},
    };
    await publisher.publishSubscriptionStatusChanged(tx, data, { requestId: 'r', principal: { kind: 'internal' } });
    const [changed, activated] = envelopes().map((e) => e.envelope);
    expect([changed.type, activated.type]).toEqual(['subscription.status_changed', 'subscription.activated']);
    expect(changed.data).not.toHaveProperty('plan_tier');
    expect(activated.data).toMatchObject({ plan_id: 'tier_pro_001', plan_tier: 'pro', new_status: 'active' });
  });

  it('should refuse data that breaks the contract before writing anything', async () => {
    const { tx, publisher, envelopes } = setup();
    await expect(
      publisher.publishCatalogChanged(
        tx,
        { entity: 'shelf' as 'product', id: 'x', change: 'updated' },
        { requestId: 'r', principal: { kind: 'internal' } },
      ),
    ).rejects.toThrow(/entity/);
    expect(envelopes()).toHaveLength(0);
  });
});
