import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HttpClient, type HttpResult, isConnectionFailure } from './http.js';
import { INTERNAL_HEADERS } from './service.js';
import { sleep } from './proc.js';
import { TERMINAL } from './transitions.js';

export const USAGE_PATH = '/api/v1/product/usage/record';
export const SUBSCRIPTIONS_PATH = '/api/v1/product/subscriptions';
/** seed products that need no subscription */
export const USAGE_PRODUCTS = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'api_gateway'];

/** What happened to one request: the outcome class ('200', '503', 'refused', 'reset', 'timeout', 'error'). */
export const outcomeKey = (r: HttpResult): string => (r.outcome === 'http' ? String(r.status) : r.outcome);

/** Counts by key, e.g. {"200": 1200, "503": 3, "refused": 17}. */
export class Tally {
  readonly counts: Record<string, number> = {};
  /** a few error messages per key, to tell failures apart */
  readonly samples: Record<string, string[]> = {};
  sample(key: string, message: string | undefined): void {
    if (!message) return;
    const list = (this.samples[key] ??= []);
    if (list.length < 3 && !list.includes(message)) list.push(message);
  }
  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }
  get(key: string): number {
    return this.counts[key] ?? 0;
  }
  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  /** every key that is an HTTP status >= 500 */
  fiveXx(): number {
    return Object.entries(this.counts)
      .filter(([k]) => /^5\d\d$/.test(k))
      .reduce((a, [, n]) => a + n, 0);
  }
}

/** Latencies of one phase (all kept: a run is at most a few hundred thousand requests). */
export class Latencies {
  private values: number[] = [];
  add(ms: number): void {
    this.values.push(ms);
  }
  get count(): number {
    return this.values.length;
  }
  summary(): { count: number; p50: number; p90: number; p99: number; max: number } {
    const v = [...this.values].sort((a, b) => a - b);
    const at = (q: number) => (v.length === 0 ? 0 : Math.round(v[Math.min(v.length - 1, Math.floor(q * v.length))]));
    return { count: v.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: Math.round(v[v.length - 1] ?? 0) };
  }
}

export interface UsageAttempt {
  requestId: string;
  body: Record<string, unknown>;
  idempotencyKey?: string;
  phase: string;
  /** outcome of the first send, then of each retry */
  outcomes: string[];
  /** usage_record_id of the first 200 */
  recordId?: string;
  /** every usage_record_id a 200 answered (a retry must answer the same one) */
  answeredIds: Set<string>;
}

export interface SubscriptionTrack {
  subscriptionId: string;
  userId: string;
  /** status in the 200 answer of the create */
  createdStatus: string;
  /** status changes answered 200, in order */
  answeredChanges: { from: string; to: string; op: string }[];
}

export interface LoadOptions {
  runId: string;
  /** base URLs of the service processes; requests go round-robin */
  targets: () => string[];
  rate: number;
  timeoutMs: number;
  maxInflight: number;
  usageUsers: number;
  subscriptionUsers: number;
  subscriptionShare: number;
  /** also send an Idempotency-Key (= request_id) with each usage record */
  usageIdempotencyKeys?: boolean;
}

type SubOp = 'create' | 'put' | 'cancel' | 'cancel_now' | 'resume';

/** How long an actor retries one POST with its Idempotency-Key (connection errors, 503, IDEMPOTENCY_KEY_IN_PROGRESS). */
export const KEY_RETRY_MS = Number(process.env.CHAOS_KEY_RETRY_S ?? 30) * 1000;

/**
 * The open-loop load generator: a schedule of `rate` writes per second (usage records with unique
 * `request_id`s, and a share of subscription changes by one actor per subscription user), sent
 * whether or not earlier ones have been answered. A scheduled request is counted `shed` (and not
 * sent) only when `maxInflight` requests are already outstanding. Every request's outcome is kept
 * by phase ('baseline', 'fault', ...), which the scenario sets as it injects faults.
 */
export class LoadGenerator {
  phase = 'baseline';
  readonly http: HttpClient;
  readonly usage = new Map<string, UsageAttempt>();
  readonly subscriptions = new Map<string, SubscriptionTrack>();
  /** outcomes by `<op>:<phase>` */
  readonly tallies = new Map<string, Tally>();
  readonly latencies = new Map<string, Latencies>();
  readonly actors: SubscriptionActor[] = [];
  /** error codes of non-200 answers, by `<op> <status> <code>` */
  readonly codes = new Tally();
  offered = 0;
  sent = 0;
  shed = 0;
  subShed = 0;
  inflight = 0;
  private seq = 0;
  private rr = 0;
  private actorRr = 0;
  private running = false;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private subCredit = 0;
  /** the generator's own event-loop delay: if it is high, the schedule was kept late (reported, not hidden) */
  private readonly loopDelay: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: 10 });

  constructor(readonly options: LoadOptions) {
    this.http = new HttpClient(options.maxInflight + 64);
    for (let i = 0; i < options.subscriptionUsers; i++) this.actors.push(new SubscriptionActor(this, `s_${options.runId}_${i}`));
  }

  tally(op: string, phase = this.phase): Tally {
    const key = `${op}:${phase}`;
    let t = this.tallies.get(key);
    if (!t) this.tallies.set(key, (t = new Tally()));
    return t;
  }

  latency(phase = this.phase): Latencies {
    let l = this.latencies.get(phase);
    if (!l) this.latencies.set(phase, (l = new Latencies()));
    return l;
  }

  /** All outcomes of one op summed over phases. */
  total(op: string): Tally {
    const sum = new Tally();
    for (const [key, t] of this.tallies) if (key.startsWith(`${op}:`)) for (const [k, n] of Object.entries(t.counts)) sum.add(k, n);
    return sum;
  }

  nextTarget(): string {
    const targets = this.options.targets();
    return targets[this.rr++ % targets.length];
  }

  /** One request of the load, counted: in flight, outcome, latency. */
  async send(
    op: string,
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpResult> {
    const phase = this.phase;
    this.inflight++;
    this.sent++;
    try {
      const r = await this.http.request(this.nextTarget(), method, path, {
        body: options.body,
        headers: { ...INTERNAL_HEADERS, ...(options.headers ?? {}) },
        timeoutMs: this.options.timeoutMs,
      });
      const tally = this.tally(op, phase);
      tally.add(outcomeKey(r));
      if (r.outcome !== 'http') tally.sample(outcomeKey(r), r.error);
      else if (r.status >= 500) tally.sample(outcomeKey(r), r.text.slice(0, 300));
      if (r.outcome === 'http' && r.status !== 200) this.codes.add(`${op} ${r.status} ${r.body?.error?.code ?? '-'}`);
      this.latency(phase).add(r.ms);
      return r;
    } finally {
      this.inflight--;
    }
  }

  start(): void {
    this.running = true;
    this.loopDelay.enable();
    this.startedAt = performance.now();
    const tick = () => {
      if (!this.running) return;
      const due = Math.floor(((performance.now() - this.startedAt) * this.options.rate) / 1000);
      while (this.offered < due) {
        this.offered++;
        this.subCredit += this.options.subscriptionShare;
        if (this.subCredit >= 1 && this.actors.length > 0) {
          this.subCredit -= 1;
          this.offerSubscriptionOp();
        } else if (this.inflight >= this.options.maxInflight) {
          this.shed++;
        } else {
          void this.sendUsage();
        }
      }
      this.timer = setTimeout(tick, 2);
    };
    tick();
  }

  /** Stops offering; waits for every request in flight and every actor's current step (its retries included). */
  async stop(): Promise<void> {
    this.running = false;
    this.loopDelay.disable();
    if (this.timer) clearTimeout(this.timer);
    const deadline = Date.now() + this.options.timeoutMs + 120_000;
    while ((this.inflight > 0 || this.actors.some((a) => a.busy)) && Date.now() < deadline) await sleep(50);
  }

  get isRunning(): boolean {
    return this.running;
  }

  private offerSubscriptionOp(): void {
    for (let i = 0; i < this.actors.length; i++) {
      const actor = this.actors[this.actorRr++ % this.actors.length];
      if (!actor.busy) {
        void actor.step();
        return;
      }
    }
    this.subShed++;
  }

  newUsageBody(): { requestId: string; body: Record<string, unknown> } {
    const n = this.seq++;
    const requestId = `r_${this.options.runId}_${n}`;
    return {
      requestId,
      body: {
        user_id: `u_${this.options.runId}_${n % this.options.usageUsers}`,
        product_id: USAGE_PRODUCTS[n % USAGE_PRODUCTS.length],
        usage_amount: 1 + (n % 997),
        request_id: requestId,
      },
    };
  }

  private async sendUsage(): Promise<void> {
    const { requestId, body } = this.newUsageBody();
    const attempt: UsageAttempt = {
      requestId,
      body,
      idempotencyKey: this.options.usageIdempotencyKeys ? requestId : undefined,
      phase: this.phase,
      outcomes: [],
      answeredIds: new Set(),
    };
    this.usage.set(requestId, attempt);
    await this.sendAttempt(attempt, 'usage');
  }

  async sendAttempt(attempt: UsageAttempt, op: string): Promise<HttpResult> {
    const r = await this.send(op, 'POST', USAGE_PATH, {
      body: attempt.body,
      headers: attempt.idempotencyKey ? { 'idempotency-key': attempt.idempotencyKey } : {},
    });
    const key = outcomeKey(r);
    attempt.outcomes.push(key);
    if (r.status === 200 && typeof r.body?.usage_record_id === 'string') {
      attempt.recordId ??= r.body.usage_record_id;
      attempt.answeredIds.add(r.body.usage_record_id);
    }
    return r;
  }

  /**
   * Re-sends every usage record that never got a 200 (same body, same request_id, same key), as a
   * client would after the fault, until it is answered 200, a 4xx says it never will be, or
   * `maxAttempts` is reached.
   */
  async retryUnanswered(options: {
    maxAttempts: number;
    delayMs: number;
    concurrency?: number;
    limit?: number;
    unknownAll?: boolean;
  }): Promise<Tally> {
    const result = new Tally();
    const all = [...this.usage.values()].filter((a) => a.recordId === undefined);
    // every request whose fate is unknown (reset, timeout, 5xx: it may have been stored) is retried when
    // `unknownAll`; the rest (refused: it never reached a server) and, without `unknownAll`, everything,
    // as a sample spread over the whole run (every k-th), so each phase is represented
    const unknown = options.unknownAll ? all.filter((a) => a.outcomes[0] !== 'refused') : [];
    const rest = options.unknownAll ? all.filter((a) => a.outcomes[0] === 'refused') : all;
    const step = Math.max(1, Math.ceil(rest.length / (options.limit ?? Infinity)));
    const pending = [...unknown, ...rest.filter((_, i) => i % step === 0)];
    let index = 0;
    const worker = async () => {
      while (index < pending.length) {
        const attempt = pending[index++];
        for (let i = 0; i < options.maxAttempts; i++) {
          const r = await this.sendAttempt(attempt, 'usage_retry');
          if (r.status === 200) {
            result.add(r.body?.duplicate === true ? 'replayed_duplicate' : 'stored_now');
            break;
          }
          if (r.status >= 400 && r.status < 500 && r.status !== 409 && r.status !== 429) {
            result.add(`final_${r.status}`);
            break;
          }
          if (i === options.maxAttempts - 1) result.add(`gave_up_${outcomeKey(r)}`);
          else await sleep(options.delayMs);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 32 }, worker));
    return result;
  }

  /** Summary of what was offered and answered. */
  summary(): Record<string, unknown> {
    const phases: Record<string, unknown> = {};
    const samples: Record<string, unknown> = {};
    for (const [key, t] of this.tallies) {
      phases[key] = t.counts;
      if (Object.keys(t.samples).length > 0) samples[key] = t.samples;
    }
    const latency: Record<string, unknown> = {};
    for (const [phase, l] of this.latencies) latency[phase] = l.summary();
    return {
      rate: this.options.rate,
      offered: this.offered,
      sent: this.sent,
      shed: this.shed,
      subscription_ops_shed: this.subShed,
      usage: this.total('usage').counts,
      usage_retry: this.total('usage_retry').counts,
      subscription_ops: this.total('sub').counts,
      error_codes: this.codes.counts,
      by_phase: phases,
      error_samples: samples,
      latency_ms: latency,
      generator_loop_delay_ms: {
        p50: Math.round(this.loopDelay.percentile(50) / 1e6),
        p99: Math.round(this.loopDelay.percentile(99) / 1e6),
        max: Math.round(this.loopDelay.max / 1e6),
      },
      actors: this.actorSummary(),
    };
  }

  actorSummary(): Record<string, number> {
    const t = new Tally();
    for (const a of this.actors) for (const [k, n] of Object.entries(a.notes.counts)) t.add(k, n);
    return t.counts;
  }
}

const CHOICES: Record<string, [number, SubOp, string?][]> = {
  incomplete: [
    [6, 'put', 'active'],
    [1, 'cancel'],
  ],
  trialing: [
    [3, 'put', 'active'],
    [2, 'put', 'past_due'],
    [2, 'put', 'paused'],
    [2, 'cancel'],
    [1, 'cancel_now'],
  ],
  active: [
    [3, 'put', 'paused'],
    [3, 'put', 'past_due'],
    [2, 'cancel'],
    [1, 'cancel_now'],
  ],
  past_due: [
    [4, 'put', 'active'],
    [2, 'put', 'unpaid'],
    [2, 'put', 'paused'],
    [1, 'put', 'canceled'],
  ],
  unpaid: [
    [5, 'put', 'active'],
    [1, 'put', 'canceled'],
  ],
  paused: [
    [3, 'put', 'active'],
    [3, 'resume'],
    [1, 'put', 'canceled'],
  ],
};

/**
 * One subscription user: creates a subscription, then changes it step by step (status changes
 * through PUT /status, cancel at period end / now, resume), one request at a time, and starts
 * over when it is terminal. A POST whose connection failed is retried with the same
 * Idempotency-Key; after any unanswered request the actor re-reads its subscription.
 */
export class SubscriptionActor {
  busy = false;
  readonly notes = new Tally();
  private subscriptionId?: string;
  private status?: string;
  private cancelPending = false;
  private uncertain = false;
  private ops = 0;

  constructor(
    private readonly gen: LoadGenerator,
    readonly userId: string,
  ) {}

  async step(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.uncertain && !(await this.refresh())) return;
      if (!this.subscriptionId || !this.status || TERMINAL.has(this.status)) await this.create();
      else await this.change();
    } finally {
      this.busy = false;
    }
  }

  private key(): string {
    return `k_${this.gen.options.runId}_${this.userId}_${this.ops++}`;
  }

  /** POST with an Idempotency-Key; a connection failure or a 503 is retried with the same key. */
  private async post(path: string, body: unknown, op: SubOp, key = this.key()): Promise<HttpResult | undefined> {
    const deadline = Date.now() + KEY_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      const r = await this.gen.send('sub', 'POST', path, { body, headers: { 'idempotency-key': key } });
      if (attempt > 0) this.notes.add(`retry_${op}_${outcomeKey(r)}`);
      const retriable =
        isConnectionFailure(r) || r.outcome === 'timeout' || r.status === 503 || r.body?.error?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS';
      if (!retriable) return r;
      if (Date.now() > deadline) {
        this.notes.add(r.body?.error?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS' ? 'key_stuck_in_progress' : `gave_up_${outcomeKey(r)}`);
        return undefined;
      }
      await sleep(250 + Math.random() * 250);
    }
  }

  private async create(): Promise<void> {
    const pick = Math.random();
    const body =
      pick < 0.4
        ? { user_id: this.userId, plan_id: 'tier_pro_001', trial: true }
        : pick < 0.7
          ? { user_id: this.userId, plan_id: 'tier_pro_001', trial: false }
          : { user_id: this.userId, plan_id: 'tier_free_001' };
    const key = this.key();
    // the key in the metadata: the checks count subscriptions per key (one effect per key)
    const r = await this.post(
      SUBSCRIPTIONS_PATH,
      { ...body, metadata: { chaos_run: this.gen.options.runId, chaos_key: key } },
      'create',
      key,
    );
    if (r?.status === 200 && r.body?.subscription_id) {
      this.adopt(r.body);
      this.gen.subscriptions.set(r.body.subscription_id, {
        subscriptionId: r.body.subscription_id,
        userId: this.userId,
        createdStatus: r.body.status,
        answeredChanges: [],
      });
      this.notes.add('created');
      return;
    }
    this.notes.add(r ? `create_${outcomeKey(r)}_${r.body?.error?.code ?? ''}` : 'create_unanswered');
    this.uncertain = true;
  }

  private async change(): Promise<void> {
    const options = (CHOICES[this.status!] ?? []).filter(([, op]) => !(op === 'cancel' && this.cancelPending));
    if (this.cancelPending) options.push([4, 'resume']);
    const total = options.reduce((a, [w]) => a + w, 0);
    let pick = Math.random() * total;
    const [, op, to] = options.find(([w]) => (pick -= w) < 0) ?? options[0];
    const id = this.subscriptionId!;
    const from = this.status!;
    let r: HttpResult | undefined;
    if (op === 'put') {
      r = await this.gen.send('sub', 'PUT', `${SUBSCRIPTIONS_PATH}/${id}/status`, { body: { status: to, reason: 'chaos' } });
    } else if (op === 'resume') {
      r = await this.post(`${SUBSCRIPTIONS_PATH}/${id}/resume`, undefined, op);
    } else {
      r = await this.post(`${SUBSCRIPTIONS_PATH}/${id}/cancel`, { immediate: op === 'cancel_now', reason: 'chaos' }, op);
    }
    if (r?.status === 200 && r.body?.subscription_id === id) {
      this.adopt(r.body);
      if (r.body.status !== from)
        this.gen.subscriptions.get(id)?.answeredChanges.push({ from, to: r.body.status, op: `${op}${to ? `:${to}` : ''}` });
      this.notes.add(`${op}_200`);
      return;
    }
    this.notes.add(r ? `${op}_${outcomeKey(r)}_${r.body?.error?.code ?? ''}` : `${op}_unanswered`);
    this.uncertain = true;
  }

  private adopt(sub: { subscription_id: string; status: string; cancel_at_period_end?: boolean }): void {
    this.subscriptionId = sub.subscription_id;
    this.status = sub.status;
    this.cancelPending = sub.cancel_at_period_end === true;
    this.uncertain = false;
  }

  /** Re-reads the newest subscription of the user (after an unanswered request). */
  private async refresh(): Promise<boolean> {
    const r = await this.gen.send('sub_read', 'GET', `${SUBSCRIPTIONS_PATH}/user/${this.userId}?limit=5`);
    if (r.status !== 200 || !Array.isArray(r.body)) return false;
    const newest = r.body[0] as { subscription_id: string; status: string; cancel_at_period_end?: boolean } | undefined;
    if (newest) {
      this.adopt(newest);
      if (!this.gen.subscriptions.has(newest.subscription_id)) {
        // created by a request whose answer was lost: tracked from here, with no answered create
        this.gen.subscriptions.set(newest.subscription_id, {
          subscriptionId: newest.subscription_id,
          userId: this.userId,
          createdStatus: '',
          answeredChanges: [],
        });
      }
    } else {
      this.subscriptionId = undefined;
      this.status = undefined;
      this.uncertain = false;
    }
    return true;
  }
}
