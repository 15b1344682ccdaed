import { CreateCatalog1764250000000 } from './1764250000000-CreateCatalog.js';
import { CreateOutbox1764255000000 } from './1764255000000-CreateOutbox.js';
import { CreateSubscriptions1764260000000 } from './1764260000000-CreateSubscriptions.js';
import { CreateUsage1764261000000 } from './1764261000000-CreateUsage.js';
import { CreateIdempotencyKeys1764262000000 } from './1764262000000-CreateIdempotencyKeys.js';
import { CreateInbox1764270000000 } from './1764270000000-CreateInbox.js';
import { DropOutboxNotifyTrigger1764280000000 } from './1764280000000-DropOutboxNotifyTrigger.js';
import { OutboxEnvelopeAsJson1764290000000 } from './1764290000000-OutboxEnvelopeAsJson.js';
import { PriceTierPricingId1764300000000 } from './1764300000000-PriceTierPricingId.js';
import { CreateAuditLog1764310000000 } from './1764310000000-CreateAuditLog.js';
import { CreateCostDefinitions1764320000000 } from './1764320000000-CreateCostDefinitions.js';
import { UsageProviderCost1764330000000 } from './1764330000000-UsageProviderCost.js';
import { OutboxAsQueue1764340000000 } from './1764340000000-OutboxAsQueue.js';
import { UsageCorrectionsAndQuotas1764350000000 } from './1764350000000-UsageCorrectionsAndQuotas.js';
import { OutboxParkedEvents1764360000000 } from './1764360000000-OutboxParkedEvents.js';
import { UsageRecordsUserCreatedIndex1764370000000 } from './1764370000000-UsageRecordsUserCreatedIndex.js';
import { IdempotencyResponseAsJson1764380000000 } from './1764380000000-IdempotencyResponseAsJson.js';
import { SubscriptionBillingEventAt1764390000000 } from './1764390000000-SubscriptionBillingEventAt.js';

/** Every migration, in order (ESM: listed as classes, no globs). Append new ones at the end. */
export const MIGRATIONS = [
  CreateCatalog1764250000000,
  CreateOutbox1764255000000,
  CreateSubscriptions1764260000000,
  CreateUsage1764261000000,
  CreateIdempotencyKeys1764262000000,
  CreateInbox1764270000000,
  DropOutboxNotifyTrigger1764280000000,
  OutboxEnvelopeAsJson1764290000000,
  PriceTierPricingId1764300000000,
  CreateAuditLog1764310000000,
  CreateCostDefinitions1764320000000,
  UsageProviderCost1764330000000,
  OutboxAsQueue1764340000000,
  UsageCorrectionsAndQuotas1764350000000,
  OutboxParkedEvents1764360000000,
  UsageRecordsUserCreatedIndex1764370000000,
  IdempotencyResponseAsJson1764380000000,
  SubscriptionBillingEventAt1764390000000,
];
