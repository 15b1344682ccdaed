/** The platform's event envelope (SPEC section 3). */
export interface EventEnvelope<T = Record<string, unknown>> {
  id: string;
  type: string;
  source: string;
  subject: string | null;
  timestamp: string;
  data: T;
  metadata: { request_id?: string; correlation_id?: string };
  version: '1.0.0';
}

/** JetStream subject of an event this service publishes. */
export const publishedSubject = (source: string, type: string): string => `events.${source}.${type}`;
