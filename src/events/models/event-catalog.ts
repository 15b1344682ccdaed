import { PaymentCompletedEvent, UserDeletedEvent, WalletInsufficientFundsEvent } from './consumed-events.js';
import {
  CatalogChangedEvent,
  CostDefinitionsChangedEvent,
  ProductUsageRecordedEvent,
  ProductUsageThresholdReachedEvent,
  ProductUsageVoidedEvent,
  SubscriptionActivatedEvent,
  SubscriptionCanceledEvent,
  SubscriptionCreatedEvent,
  SubscriptionExpiredEvent,
  SubscriptionPlanChangedEvent,
  SubscriptionRenewedEvent,
  SubscriptionStatusChangedEvent,
} from './event-data.js';

/** One entry per event type: its payload class and when it happens. Drives validation and AsyncAPI. */
export interface EventTypeSpec {
  type: string;
  payload: new () => object;
  summary: string;
}

export const PUBLISHED_EVENTS = [
  { type: 'subscription.created', payload: SubscriptionCreatedEvent, summary: 'A subscription is created.' },
  { type: 'subscription.status_changed', payload: SubscriptionStatusChangedEvent, summary: 'Every status change of a subscription.' },
  {
    type: 'subscription.activated',
    payload: SubscriptionActivatedEvent,
    summary: 'In addition to status_changed, when the new status is active.',
  },
  {
    type: 'subscription.canceled',
    payload: SubscriptionCanceledEvent,
    summary: 'In addition to status_changed, when the new status is canceled.',
  },
  {
    type: 'subscription.expired',
    payload: SubscriptionExpiredEvent,
    summary: 'In addition to status_changed, when the new status is expired or incomplete_expired.',
  },
  { type: 'subscription.renewed', payload: SubscriptionRenewedEvent, summary: 'A billing period rolls forward (billing charges on it).' },
  { type: 'subscription.plan_changed', payload: SubscriptionPlanChangedEvent, summary: 'A plan change takes effect.' },
  { type: 'product.usage.recorded', payload: ProductUsageRecordedEvent, summary: 'A usage record is stored (not for duplicates).' },
  {
    type: 'product.usage.voided',
    payload: ProductUsageVoidedEvent,
    summary: "Units of a usage record were voided (internal correction): credit credited_cost, at the record's own tiers.",
  },
  {
    type: 'product.usage.threshold_reached',
    payload: ProductUsageThresholdReachedEvent,
    summary: "A user's usage reached a threshold percentage of a plan limit: once per threshold per window.",
  },
  { type: 'product.catalog.changed', payload: CatalogChangedEvent, summary: 'A product, price, category or plan changes.' },
  {
    type: 'product.cost_definitions.changed',
    payload: CostDefinitionsChangedEvent,
    summary: 'Provider cost definitions are created, changed, retired or rotated.',
  },
] as const satisfies readonly EventTypeSpec[];

export type PublishedEventType = (typeof PUBLISHED_EVENTS)[number]['type'];

export const CONSUMED_EVENTS = [
  {
    type: 'payment.completed',
    payload: PaymentCompletedEvent,
    summary:
      'The subscription (data.subscription_id or data.metadata.subscription_id) becomes active; none or unknown: acknowledged and logged.',
  },
  {
    type: 'wallet.insufficient_funds',
    payload: WalletInsufficientFundsEvent,
    summary: 'Each active or trialing subscription of data.user_id becomes past_due (reason insufficient_funds).',
  },
  {
    type: 'user.deleted',
    payload: UserDeletedEvent,
    summary: 'Every non-terminal subscription of data.user_id is canceled immediately (reason user_deleted).',
  },
] as const satisfies readonly EventTypeSpec[];

export type ConsumedEventType = (typeof CONSUMED_EVENTS)[number]['type'];

const PAYLOADS = new Map<string, new () => object>([...PUBLISHED_EVENTS, ...CONSUMED_EVENTS].map((e) => [e.type, e.payload]));

/** The payload class of a known event type. */
export function payloadClassOf(type: string): (new () => object) | undefined {
  return PAYLOADS.get(type);
}
