/**
 * Every NATS name the event bus uses, in one place. `prefix` is EVENTS_SUBJECT_PREFIX (`events`
 * in production; tests give each file its own so their streams do not overlap).
 */
export const streamSubjects = (prefix: string): string => `${prefix}.>`;

/** `events.product_service.subscription.created` */
export const publishedSubject = (prefix: string, source: string, type: string): string => `${prefix}.${source}.${type}`;

/** What a consumer listens to: the type from any source (`events.*.payment.completed`). */
export const consumedFilter = (prefix: string, type: string): string => `${prefix}.*.${type}`;

/** Where a message this service gave up on goes: `events.dlq.product_service.payment.completed`. */
export const deadLetterSubject = (prefix: string, service: string, type: string): string => `${prefix}.dlq.${service}.${type}`;

/** Durable consumer name shared by every replica of the service (`product_service_payment_completed`). */
export const durableName = (service: string, type: string): string => `${service}_${type.replace(/[^A-Za-z0-9_-]/g, '_')}`;
