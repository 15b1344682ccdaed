import type { JetStreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { CONSUMER_PENDING_METRIC, type ConsumerInfoSource, ConsumerLagMetrics, type ConsumerPendingInfo } from './consumer-lag.metrics.js';

/** Compile-time check: the real JetStreamManager is a ConsumerInfoSource (npm run typecheck). */
export const acceptsJetStreamManager = (jsm: JetStreamManager): ConsumerInfoSource => jsm;

type Answer = ConsumerPendingInfo | Error | 'hang';

/** A JetStreamManager stand-in: answers `consumers.info` from a table, records every call. */
class FakeManager implements ConsumerInfoSource {
  readonly calls: string[] = [];
  readonly answers = new Map<string, Answer>();
  readonly consumers = {
    info: (stream: string, durable: string): Promise<ConsumerPendingInfo> => {
      this.calls.push(`${stream}/${durable}`);
      const answer = this.answers.get(durable) ?? new Error(`consumer ${durable} not found`);
      if (answer === 'hang') return new Promise(() => undefined);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

const quietLogger = () => ({
  warnings: [] as unknown[],
  warn(...args: unknown[]) {
    this.warnings.push(args);
  },
});

/** The sample values of the gauge, by consumer label, from a real scrape of the registry. */
async function scrape(registry: Registry): Promise<Record<string, number>> {
  const text = await registry.metrics();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${CONSUMER_PENDING_METRIC}\\{consumer="([^"]+)"\\} (\\S+)$`).exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

describe('ConsumerLagMetrics', () => {
  let registry: Registry;
  let jsm: FakeManager;
  let logger: ReturnType<typeof quietLogger>;

  beforeEach(() => {
    registry = new Registry();
    jsm = new FakeManager();
    logger = quietLogger();
  });

  it('should expose num_pending + num_ack_pending per durable consumer, read only when scraped', async () => {
    jsm.answers.set('svc_payment_completed', { num_pending: 3, num_ack_pending: 2 });
    jsm.answers.set('svc_user_deleted', { num_pending: 0, num_ack_pending: 0 });
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['svc_payment_completed', 'svc_user_deleted'], { logger });
    expect(jsm.calls).toEqual([]);

    const text = await registry.metrics();
    expect(text).toContain(`# TYPE ${CONSUMER_PENDING_METRIC} gauge`);
    expect(await scrape(registry)).toEqual({ svc_payment_completed: 5, svc_user_deleted: 0 });
    expect(jsm.calls.slice(0, 2).sort()).toEqual(['EVENTS/svc_payment_completed', 'EVENTS/svc_user_deleted']);
    expect(logger.warnings).toEqual([]);
  });

  it('should follow the consumer from one scrape to the next', async () => {
    jsm.answers.set('c1', { num_pending: 10, num_ack_pending: 1 });
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['c1'], { logger });
    expect(await scrape(registry)).toEqual({ c1: 11 });
    jsm.answers.set('c1', { num_pending: 0, num_ack_pending: 1 });
    expect(await scrape(registry)).toEqual({ c1: 1 });
  });

  it('should keep the last value and not fail the scrape when a read fails, and warn once per failure streak', async () => {
    jsm.answers.set('c1', { num_pending: 7, num_ack_pending: 0 });
    jsm.answers.set('c2', { num_pending: 1, num_ack_pending: 0 });
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['c1', 'c2'], { logger });
    expect(await scrape(registry)).toEqual({ c1: 7, c2: 1 });

    jsm.answers.set('c1', new Error('timeout'));
    jsm.answers.set('c2', { num_pending: 4, num_ack_pending: 0 });
    expect(await scrape(registry)).toEqual({ c1: 7, c2: 4 });
    expect(await scrape(registry)).toEqual({ c1: 7, c2: 4 });
    expect(logger.warnings).toHaveLength(1);
    expect(JSON.stringify(logger.warnings[0])).toContain('"consumer":"c1"');

    jsm.answers.set('c1', { num_pending: 2, num_ack_pending: 0 });
    expect(await scrape(registry)).toEqual({ c1: 2, c2: 4 });
    jsm.answers.set('c1', new Error('down again'));
    await scrape(registry);
    expect(logger.warnings).toHaveLength(2);
  });

  it('should have no sample for a consumer never read (not created yet) and still serve the others', async () => {
    jsm.answers.set('c1', { num_pending: 1, num_ack_pending: 1 });
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['c1', 'missing'], { logger });
    expect(await scrape(registry)).toEqual({ c1: 2 });
  });

  it('should give up on an answer that does not come within the timeout, keeping the last value', async () => {
    jsm.answers.set('c1', { num_pending: 9, num_ack_pending: 0 });
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['c1'], { logger, timeoutMs: 20 });
    expect(await scrape(registry)).toEqual({ c1: 9 });
    jsm.answers.set('c1', 'hang');
    expect(await scrape(registry)).toEqual({ c1: 9 });
    expect(JSON.stringify(logger.warnings)).toContain('no answer within 20 ms');
  });

  it('should not send a second request for a consumer while the first is still unanswered', async () => {
    jsm.answers.set('c1', 'hang');
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['c1'], { logger, timeoutMs: 10 });
    await scrape(registry);
    await scrape(registry);
    expect(jsm.calls).toEqual(['EVENTS/c1']);
  });

  it('should read the manager and the durables through getters on every scrape (the bus connects later)', async () => {
    const bus: { connected?: FakeManager } = {};
    let durables: string[] = [];
    const manager = (): ConsumerInfoSource => {
      if (!bus.connected) throw new Error('event bus not connected');
      return bus.connected;
    };
    new ConsumerLagMetrics(registry, manager, 'EVENTS', () => durables, { logger });
    expect(await scrape(registry)).toEqual({});
    durables = ['c1'];
    expect(await scrape(registry)).toEqual({});
    expect(JSON.stringify(logger.warnings)).toContain('event bus not connected');

    bus.connected = jsm;
    jsm.answers.set('c1', { num_pending: 5, num_ack_pending: 5 });
    expect(await scrape(registry)).toEqual({ c1: 10 });
  });

  it('should treat a durables getter that throws as a failed read', async () => {
    new ConsumerLagMetrics(
      registry,
      jsm,
      'EVENTS',
      () => {
        throw new Error('not listening yet');
      },
      { logger },
    );
    expect(await scrape(registry)).toEqual({});
    expect(JSON.stringify(logger.warnings)).toContain('not listening yet');
  });

  it('should ignore an answer without the counters instead of exporting NaN', async () => {
    jsm.answers.set('c1', { num_pending: 3, num_ack_pending: 0 });
    new ConsumerLagMetrics(registry, jsm, 'EVENTS', ['c1'], { logger });
    await scrape(registry);
    jsm.answers.set('c1', {} as ConsumerPendingInfo);
    expect(await scrape(registry)).toEqual({ c1: 3 });
  });
});
