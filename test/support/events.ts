import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { CallContext } from '../../src/common/auth/principal.js';
import type { Tx } from '../../src/database/unit-of-work.js';
import { EventPublisher } from '../../src/events/publishers/event.publisher.js';
import { SubscriptionEffects, type SubscriptionRequest, type UserRequest } from '../../src/product/subscriptions/subscription-effects.js';

export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Isolation of event tests: every test file gets its own stream AND its own subject prefix
 * (EVENTS_SUBJECT_PREFIX), because JetStream refuses two streams with overlapping subjects; so
 * files run in parallel against one NATS server. The stream is deleted at the end.
 */
export function eventsEnv(
  extra: Record<string, string> = {},
): Record<string, string> & { EVENTS_STREAM: string; EVENTS_SUBJECT_PREFIX: string } {
  const id = randomBytes(5).toString('hex');
  return {
    NATS_URL,
    EVENTS_STREAM: `EVT_${id}`,
    EVENTS_SUBJECT_PREFIX: `evt_${id}`,
    OUTBOX_POLL_MS: '200',
    EVENTS_RETRY_BACKOFF: '100ms',
    ...extra,
  };
}

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close: () => Promise<void>;
}

export async function busClient(url = NATS_URL): Promise<Bus> {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  return { nc, js, jsm, close: () => nc.drain() };
}

export async function deleteStream(jsm: JetStreamManager, stream: string): Promise<void> {
  await jsm.streams.delete(stream).catch(() => undefined);
}

export interface StoredMessage {
  seq: number;
  subject: string;
  headers: Record<string, string>;
  body: string;
  json: () => Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions
}

/** Every message currently in `stream` matching `filter`, oldest first (an ephemeral consumer). */
export async function readAll(bus: Bus, stream: string, filter: string): Promise<StoredMessage[]> {
  const info = await bus.jsm.consumers.add(stream, {
    filter_subject: filter,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: nanos(30_000),
  });
  const out: StoredMessage[] = [];
  try {
    let pending = info.num_pending;
    const consumer = await bus.js.consumers.get(stream, info.name);
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 500), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        const hdrs: Record<string, string> = {};
        for (const [k, v] of m.headers ?? []) hdrs[k] = v.join(',');
        const body = m.string();
        out.push({ seq: m.seq, subject: m.subject, headers: hdrs, body, json: () => JSON.parse(body) });
        pending = m.info.pending;
      }
      if (got === 0) break;
    }
  } finally {
    await bus.jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return out;
}

/** Polls `read` until `done` holds (events are asynchronous; there is no lifecycle to drive). */
export async function eventually<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/** Waits until the app has connected: stream and durable consumers exist. */
export async function waitForConsumers(bus: Bus, stream: string, durable = 'product_service_user_deleted'): Promise<void> {
  const info = await eventually(
    () => bus.jsm.consumers.info(stream, durable).catch(() => undefined),
    (c) => c !== undefined,
  );
  if (!info) throw new Error(`consumer ${durable} of ${stream} never appeared`);
}

/** Publishes an enveloped event from another service (no Nats-Msg-Id unless given). */
export async function publishEnvelope(
  bus: Bus,
  prefix: string,
  source: string,
  type: string,
  data: unknown,
  options: { id?: string; metadata?: Record<string, unknown>; msgID?: string; timestamp?: string } = {},
): Promise<{ id: string; seq: number }> {
  const id = options.id ?? randomUUID();
  const envelope = {
    id,
    type,
    source,
    subject: null,
    timestamp: options.timestamp ?? new Date().toISOString(),
    data,
    metadata: options.metadata ?? {},
    version: '1.0.0',
  };
  const ack = await bus.js.publish(
    `${prefix}.${source}.${type}`,
    JSON.stringify(envelope),
    options.msgID ? { msgID: options.msgID } : undefined,
  );
  return { id, seq: ack.seq };
}

export async function publishRaw(bus: Bus, subject: string, body: string | Uint8Array): Promise<number> {
  const h = natsHeaders();
  h.set('X-Test', 'raw');
  return (await bus.js.publish(subject, body, { headers: h })).seq;
}

/**
 * A test double of the SubscriptionEffects port: records each call, can fail the next N calls, and
 * writes a real `subscription.status_changed` event with the handler's transaction, so "one effect,
 * one resulting event" is observable on NATS. `recordingEffects()` binds it over any real binding.
 */
export class RecordingEffects extends SubscriptionEffects {
  readonly calls: { method: string; arg: string; ctx: CallContext }[] = [];
  failures = 0;
  publisher?: EventPublisher;

  failNext(n: number): void {
    this.failures = n;
  }

  private async record(tx: Tx, method: string, arg: string, ctx: CallContext): Promise<number> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`injected failure in ${method}`);
    }
    if (!this.publisher) throw new Error('RecordingEffects.publisher not set');
    this.calls.push({ method, arg, ctx });
    await this.publisher.publishSubscriptionStatusChanged(
      tx,
      {
        subscription_id: method === 'activateForPayment' ? arg : `sub_of_${arg}`,
        user_id: method === 'activateForPayment' ? 'user_x' : arg,
        organization_id: null,
        plan_id: 'pro',
        plan_tier: 'pro',
        old_status: 'incomplete',
        new_status: method === 'cancelAllForUser' ? 'canceled' : method === 'markPastDueForUser' ? 'past_due' : 'active',
        reason: method,
        metadata: {},
      },
      ctx,
    );
    return 1;
  }

  async activateForPayments(tx: Tx, requests: readonly SubscriptionRequest[]): Promise<boolean[]> {
    const changed: boolean[] = [];
    for (const { subscriptionId, ctx } of requests) {
      changed.push(subscriptionId !== 'sub_unknown' && (await this.record(tx, 'activateForPayment', subscriptionId, ctx)) > 0);
    }
    return changed;
  }

  markPastDueForUsers(tx: Tx, requests: readonly UserRequest[]): Promise<number[]> {
    return this.each(tx, 'markPastDueForUser', requests);
  }

  cancelAllForUsers(tx: Tx, requests: readonly UserRequest[]): Promise<number[]> {
    return this.each(tx, 'cancelAllForUser', requests);
  }

  private async each(tx: Tx, method: string, requests: readonly UserRequest[]): Promise<number[]> {
    const counts: number[] = [];
    for (const { userId, ctx } of requests) counts.push(await this.record(tx, method, userId, ctx));
    return counts;
  }
}

/**
 * startTestApp options that put `effects` behind the SubscriptionEffects port: provided by a module
 * of its own (when nothing else binds the port) and overriding the real binding (when the
 * subscriptions service does). Set `effects.publisher` once the app has started.
 */
export function recordingEffects(effects: RecordingEffects): {
  imports: DynamicModule[];
  overrides: { provide: unknown; useValue: unknown }[];
} {
  return {
    imports: [
      {
        module: class RecordingEffectsModule {},
        global: true,
        providers: [{ provide: SubscriptionEffects, useValue: effects }],
        exports: [SubscriptionEffects],
      },
    ],
    overrides: [{ provide: SubscriptionEffects, useValue: effects }],
  };
}

/** A NATS server of the test's own (JetStream on, own store dir), to stop and start at will. */
export class OwnNatsServer {
  private process?: ChildProcess;
  private readonly storeDir = mkdtempSync(join(tmpdir(), 'nats-js-'));

  constructor(readonly port: number) {}

  static async create(): Promise<OwnNatsServer> {
    return new OwnNatsServer(await freePort());
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const nc = await connect({ servers: this.url, timeout: 500 });
        await (await jetstreamManager(nc)).getAccountInfo();
        await nc.close();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    const p = this.process;
    this.process = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
