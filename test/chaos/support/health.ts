import { monitorEventLoopDelay } from 'node:perf_hooks';
import { probe } from './http.js';
import { Latencies, Tally } from './load.js';

export interface HealthSample {
  at: number;
  phase: string;
  status: number;
  ms: number;
  /** the longest event-loop delay of the prober's own process while the sample was taken */
  loopDelayMaxMs: number;
}

/**
 * Polls GET <path> of a service every `everyMs` on fresh connections, recording status (0 = no
 * answer) and latency by phase, until stopped.
 */
export class HealthSampler {
  readonly samples: HealthSample[] = [];
  phase = 'baseline';
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(
    private readonly url: () => string,
    private readonly everyMs = 200,
    private readonly timeoutMs = 2000,
  ) {}

  start(): this {
    this.loopDelay.enable();
    const tick = async () => {
      if (this.stopped) return;
      const started = performance.now();
      const phase = this.phase;
      this.loopDelay.reset();
      const r = await probe(this.url(), this.timeoutMs);
      const loopDelayMaxMs = this.loopDelay.max / 1e6;
      this.samples.push({ at: Date.now(), phase, status: r?.status ?? 0, ms: performance.now() - started, loopDelayMaxMs });
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.everyMs);
    };
    void tick();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.loopDelay.disable();
    if (this.timer) clearTimeout(this.timer);
  }

  byPhase(): Record<string, Record<string, number>> {
    const out: Record<string, Tally> = {};
    for (const s of this.samples) (out[s.phase] ??= new Tally()).add(String(s.status));
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.counts]));
  }

  latency(phase: string): ReturnType<Latencies['summary']> {
    const l = new Latencies();
    for (const s of this.samples) if (s.phase === phase) l.add(s.ms);
    return l.summary();
  }

  /** ms from `since` until the first sample with `status` (undefined if none). */
  firstAfter(since: number, status: number): number | undefined {
    const s = this.samples.find((x) => x.at >= since && x.status === status);
    return s ? s.at - since : undefined;
  }
}
