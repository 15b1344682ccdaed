// Load generators: autocannon for closed-loop HTTP throughput (one or several URLs), a
// closed-loop pool of batch callers, and an open-loop generator at a fixed offered rate.
import autocannon from 'autocannon';
import { onStop, percentile, round, sleep, StoppedError, throwIfStopping } from './harness.mjs';

/** Status-code counts merged: { "200": 10, "503": 1 } + { "200": 5 }. */
export function mergeCodes(...maps) {
  const out = {};
  for (const m of maps) for (const [code, n] of Object.entries(m ?? {})) out[code] = (out[code] ?? 0) + n;
  return out;
}

const non2xxOf = (codes) =>
  Object.entries(codes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);

const summarize = (r) => ({
  requests_per_second: Math.round(r.requests.average),
  total_requests: r.totalCompletedRequests,
  responses_2xx: r['2xx'],
  duration_s: r.duration,
  latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
  non_2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  status_codes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
});

/**
 * One autocannon run. `target`: { urls: [base...], method, path, headers, body?: () => object,
 * requestHeaders?: () => object (added to `headers` per request) }.
 * With several base URLs the connections are spread round-robin over them (autocannon's own
 * multi-URL mode) and the figures are the aggregate.
 */
export function autocannonRun(target, { seconds, connections }) {
  throwIfStopping();
  return new Promise((resolveLoad, reject) => {
    const request = { method: target.method, path: target.path, headers: target.headers };
    if (target.body || target.requestHeaders)
      request.setupRequest = (req) => ({
        ...req,
        ...(target.body ? { body: JSON.stringify(target.body()) } : {}),
        ...(target.requestHeaders ? { headers: { ...req.headers, ...target.requestHeaders() } } : {}),
      });
    const urls = target.urls.map((u) => u + target.path);
    let removeStop;
    const instance = autocannon(
      { url: urls.length === 1 ? urls[0] : urls, connections, duration: seconds, timeout: 10, requests: [request] },
      (err, result) => {
        removeStop?.();
        if (stopped) reject(new StoppedError());
        else if (err) reject(err);
        else resolveLoad(summarize(result));
      },
    );
    let stopped = false;
    removeStop = onStop(() => {
      stopped = true;
      instance.stop();
    });
  });
}

/**
 * Measures several targets in alternating rounds: round 1 in the given order, round 2 reversed,
 * and so on; a target's first measured run is preceded by a warm-up of that target (later rounds
 * find it warm). Returns, per target key, every
 * measured round, the best one (load from other processes on a shared machine only ever lowers a
 * figure) and status codes summed over all runs, warm-ups included.
 */
export async function alternatingRounds(targets, { rounds, warmup, duration, connections, label, log }) {
  const out = Object.fromEntries(targets.map((t) => [t.key, { rounds: [], status_codes: {}, errors: 0, timeouts: 0 }]));
  for (let r = 1; r <= rounds; r++) {
    const order = r % 2 === 1 ? targets : [...targets].reverse();
    for (const t of order) {
      const tag = `${label} ${t.key} (round ${r}/${rounds})`;
      if (warmup > 0 && r === 1) {
        const w = await autocannonRun(t, { seconds: warmup, connections });
        out[t.key].status_codes = mergeCodes(out[t.key].status_codes, w.status_codes);
        out[t.key].errors += w.errors;
        out[t.key].timeouts += w.timeouts;
      }
      const m = await autocannonRun(t, { seconds: duration, connections });
      out[t.key].rounds.push(m);
      out[t.key].status_codes = mergeCodes(out[t.key].status_codes, m.status_codes);
      out[t.key].errors += m.errors;
      out[t.key].timeouts += m.timeouts;
      log(`${tag}: ${m.requests_per_second} req/s, p50 ${m.latency_ms.p50} ms, p99 ${m.latency_ms.p99} ms, non-2xx ${m.non_2xx}`);
    }
  }
  for (const v of Object.values(out)) {
    v.best = v.rounds.reduce((a, b) => (b.requests_per_second > a.requests_per_second ? b : a));
    v.non_2xx = non2xxOf(v.status_codes);
    v.responses_2xx = Object.entries(v.status_codes)
      .filter(([code]) => code.startsWith('2'))
      .reduce((a, [, n]) => a + n, 0);
  }
  return out;
}

// ---------------------------------------------------------------- plain HTTP calls

/** POST JSON; resolves to { status, body (parsed or undefined), ms }. Network errors reject. */
export async function postJson(url, body, headers, signal) {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: signal ?? AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, ms: performance.now() - started };
}

const latencySummary = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50), 1), p99: round(percentile(s, 99), 1), max: round(s.at(-1) ?? null, 1) };
};

/**
 * `callers` concurrent closed loops for `seconds` (or until `maxRequests` have been sent): each
 * POSTs `makeBody()` to `url`, waits for the answer, and starts again. `accepted(body)` reads how
 * many records a 2xx answer took.
 */
export async function closedLoop({ url, headers, callers, seconds, makeBody, accepted = () => 1, maxRequests = Infinity }) {
  throwIfStopping();
  const abort = new AbortController();
  const removeStop = onStop(() => abort.abort());
  const codes = {};
  const latencies = [];
  let records = 0;
  let errors = 0;
  let claimed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const caller = async () => {
    while (performance.now() < end && !abort.signal.aborted && claimed < maxRequests) {
      claimed++;
      try {
        const res = await postJson(url, makeBody(), headers, AbortSignal.any([abort.signal, AbortSignal.timeout(60_000)]));
        codes[res.status] = (codes[res.status] ?? 0) + 1;
        latencies.push(res.ms);
        if (res.status >= 200 && res.status < 300) records += accepted(res.body);
      } catch {
        if (abort.signal.aborted) break;
        errors++;
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  removeStop();
  throwIfStopping();
  const elapsed = (performance.now() - started) / 1000;
  return {
    started_at: started,
    elapsed_s: round(elapsed, 2),
    requests: latencies.length,
    records,
    records_per_second: Math.round(records / elapsed),
    requests_per_second: round(latencies.length / elapsed, 1),
    latency_ms: latencySummary(latencies),
    status_codes: codes,
    non_2xx: non2xxOf(codes),
    errors,
    ended_at: performance.now(),
  };
}

/**
 * Open loop: one POST every 1000 / `requestsPerSecond` ms for `seconds`, on schedule whether or not
 * earlier ones have answered (at most `maxInFlight` outstanding; a tick that finds that many is
 * counted as skipped, so an overloaded service shows as a lower achieved rate, not as silence).
 */
export async function openLoop({ url, headers, requestsPerSecond, seconds, makeBody, accepted = () => 1, maxInFlight = 256 }) {
  throwIfStopping();
  const abort = new AbortController();
  const removeStop = onStop(() => abort.abort());
  const codes = {};
  const latencies = [];
  const pending = new Set();
  let records = 0;
  let errors = 0;
  let skipped = 0;
  let sent = 0;
  const interval = 1000 / requestsPerSecond;
  const started = performance.now();
  const total = Math.round(seconds * requestsPerSecond);
  for (let k = 0; k < total && !abort.signal.aborted; k++) {
    const due = started + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (pending.size >= maxInFlight) {
      skipped++;
      continue;
    }
    sent++;
    const p = postJson(url, makeBody(), headers, AbortSignal.any([abort.signal, AbortSignal.timeout(60_000)]))
      .then((res) => {
        codes[res.status] = (codes[res.status] ?? 0) + 1;
        latencies.push(res.ms);
        if (res.status >= 200 && res.status < 300) records += accepted(res.body);
      })
      .catch(() => {
        if (!abort.signal.aborted) errors++;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  const offeredFor = (performance.now() - started) / 1000;
  await Promise.all(pending);
  removeStop();
  throwIfStopping();
  return {
    offered_s: round(offeredFor, 2),
    requests_sent: sent,
    requests_skipped: skipped,
    records,
    http_latency_ms: latencySummary(latencies),
    status_codes: codes,
    non_2xx: non2xxOf(codes),
    errors,
  };
}
