import { Logger } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';

export const CONSUMER_PENDING_METRIC = 'product_events_consumer_pending';

/** The two counters of a JetStream consumer info this gauge adds up. */
export interface ConsumerPendingInfo {
  /** messages in the stream matching the consumer's filter and not yet delivered */
  num_pending: number;
  /** messages delivered and not acknowledged yet (being handled, or waiting for redelivery) */
  num_ack_pending: number;
}

/** The one call of `@nats-io/jetstream`'s JetStreamManager this needs (`jsm.consumers.info`). */
export interface ConsumerInfoSource {
  consumers: { info(stream: string, durable: string): Promise<ConsumerPendingInfo> };
}

export interface ConsumerLagOptions {
  /** longest wait for one consumer's info per scrape (default 1000 ms); a slower answer keeps the last value */
  timeoutMs?: number;
  /** where failures are reported (once per failure streak of a consumer); default a Nest Logger */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * `product_events_consumer_pending{consumer}`: messages a durable consumer still has to work
 * through, `num_pending + num_ack_pending` of its JetStream consumer info, so it covers both the
 * backlog not yet delivered and the messages delivered and not acknowledged (slow or failing
 * handlers, redeliveries waiting out their backoff). Lag that keeps growing means the replicas do
 * not keep up, or a handler is stuck.
 *
 * Read only when Prometheus scrapes (the gauge's `collect`), one `consumers.info` request per
 * durable in parallel, each bounded by `timeoutMs`. A failed or late answer (NATS down, consumer
 * not created yet, JetStream slow) leaves that consumer's last value as it was and never fails the
 * scrape; a consumer never read successfully has no sample. A request still pending from an
 * earlier scrape is awaited again rather than sent twice.
 *
 * `manager` and `durables` may be functions, read on every scrape: the event bus connects in the
 * background, so a getter that throws while disconnected (`() => connection.manager()`) counts as a
 * failed read.
 */
export class ConsumerLagMetrics {
  private readonly gauge: Gauge<'consumer'>;
  private readonly timeoutMs: number;
  private readonly logger: Pick<Logger, 'warn'>;
  private readonly inFlight = new Map<string, Promise<ConsumerPendingInfo>>();
  private readonly failing = new Set<string>();

  constructor(
    registry: Registry,
    private readonly manager: ConsumerInfoSource | (() => ConsumerInfoSource),
    private readonly stream: string,
    private readonly durables: readonly string[] | (() => readonly string[]),
    options: ConsumerLagOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.logger = options.logger ?? new Logger('ConsumerLagMetrics');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- collect() is called with the gauge as `this`
    const self = this;
    this.gauge = new Gauge({
      name: CONSUMER_PENDING_METRIC,
      help: 'Messages a durable JetStream consumer has not finished: num_pending (not delivered) + num_ack_pending (not acknowledged)',
      labelNames: ['consumer'] as const,
      registers: [registry],
      async collect() {
        await self.refresh();
      },
    });
  }

  /** Reads every consumer once and updates the gauge; what a scrape does. Never rejects. */
  async refresh(): Promise<void> {
    let durables: readonly string[];
    try {
      durables = typeof this.durables === 'function' ? this.durables() : this.durables;
    } catch (err) {
      this.report('*', err);
      return;
    }
    await Promise.all(durables.map((durable) => this.refreshOne(durable)));
  }

  private async refreshOne(durable: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const info = await Promise.race([
        this.info(durable),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      const pending = Number(info.num_pending) + Number(info.num_ack_pending);
      if (!Number.isFinite(pending)) throw new Error('consumer info without num_pending / num_ack_pending');
      this.gauge.set({ consumer: durable }, pending);
      this.failing.delete(durable);
    } catch (err) {
      this.report(durable, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One request per durable at a time: a scrape after a timed-out one waits for the same answer. */
  private info(durable: string): Promise<ConsumerPendingInfo> {
    let request = this.inFlight.get(durable);
    if (!request) {
      request = (async () => {
        const source = typeof this.manager === 'function' ? this.manager() : this.manager;
        return source.consumers.info(this.stream, durable);
      })().finally(() => this.inFlight.delete(durable));
      this.inFlight.set(durable, request);
    }
    return request;
  }

  private report(durable: string, err: unknown): void {
    if (this.failing.has(durable)) return;
    this.failing.add(durable);
    this.logger.warn(
      { stream: this.stream, consumer: durable, err: err instanceof Error ? err.message : String(err) },
      'consumer lag not read; keeping the last value',
    );
  }
}
