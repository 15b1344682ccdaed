import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Checks, Db } from './checks.js';
import { Tally } from './load.js';
import type { StreamMessage } from './stream.js';

interface Probe {
  id: string;
  phase: string;
  sentAt: number;
  acked: boolean;
}

/**
 * Probes of the consuming side: every `everyMs` a `payment.completed` from "payment_service" for a
 * subscription that does not exist (handled = acknowledged with nothing to change, and its id in
 * inbox_events). At the end every probe JetStream acknowledged must be in the inbox exactly once;
 * the inbox's received_at tells how long handling took.
 */
export class ConsumerProbe {
  readonly probes: Probe[] = [];
  readonly publishOutcomes = new Tally();
  phase = 'baseline';
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private inflight = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly everyMs = 250,
  ) {}

  start(): this {
    const js = jetstream(this.nc, { timeout: 5000 });
    const tick = () => {
      if (this.stopped) return;
      const probe: Probe = { id: randomUUID(), phase: this.phase, sentAt: Date.now(), acked: false };
      this.probes.push(probe);
      const envelope = {
        id: probe.id,
        type: 'payment.completed',
        source: 'payment_service',
        subject: null,
        timestamp: new Date().toISOString(),
        data: { payment_intent_id: `pi_${probe.id}`, metadata: { subscription_id: `sub_probe_${probe.id.slice(0, 8)}` } },
        metadata: {},
        version: '1.0.0',
      };
      this.inflight++;
      js.publish(`${this.prefix}.payment_service.payment.completed`, JSON.stringify(envelope), { msgID: probe.id })
        .then(
          () => {
            probe.acked = true;
            this.publishOutcomes.add(`${probe.phase}:acked`);
          },
          () => this.publishOutcomes.add(`${probe.phase}:failed`),
        )
        .finally(() => this.inflight--);
      this.timer = setTimeout(tick, this.everyMs);
    };
    tick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const deadline = Date.now() + 15_000;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /**
   * Waits (bounded) until every acknowledged probe is in the inbox, then checks and counts; with the
   * stream as read (`events`), says of those not handled whether JetStream has them at all.
   */
  async verify(db: Db, checks: Checks, events?: readonly StreamMessage[], timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const acked = this.probes.filter((p) => p.acked);
    const ids = acked.map((p) => p.id);
    const deadline = Date.now() + timeoutMs;
    let rows: { event_id: string; received_at: Date }[];
    for (;;) {
      rows = await db.query<{ event_id: string; received_at: Date }>(
        `SELECT event_id, received_at FROM inbox_events WHERE event_id = ANY($1)`,
        [ids],
      );
      if (rows.length >= ids.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const seen = new Map(rows.map((r) => [r.event_id, r.received_at.getTime()]));
    const missing = acked.filter((p) => !seen.has(p.id));
    const lagByPhase: Record<string, number> = {};
    for (const p of acked) {
      const at = seen.get(p.id);
      if (at !== undefined) lagByPhase[p.phase] = Math.max(lagByPhase[p.phase] ?? 0, at - p.sentAt);
    }
    const stored = events && new Map(events.filter((e) => e.msgId !== undefined).map((e) => [e.msgId as string, e.seq]));
    const where = stored
      ? ` (${missing.map((p) => `${p.id} ${p.phase}: ${stored.has(p.id) ? `on the stream at ${stored.get(p.id)}` : 'not on the stream'}`).join('; ')})`
      : '';
    checks.expect(
      'consumers: every acknowledged probe event handled (in the inbox)',
      missing.length === 0,
      `${this.probes.length} published, ${acked.length} acknowledged by JetStream, ${acked.length - missing.length} handled, ${missing.length} not handled${missing.length > 0 ? where : ''}`,
    );
    return {
      published: this.probes.length,
      publish_outcomes: this.publishOutcomes.counts,
      handled: acked.length - missing.length,
      not_handled: missing.length,
      max_handling_lag_ms_by_phase: lagByPhase,
    };
  }
}
