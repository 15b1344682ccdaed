// bench/results/latest.md: the tables a README would show, from the report object that
// bench/run.mjs also writes as latest.json.

const fmt = (n, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n)
    ? 'n/a'
    : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const ratio = (r) => (r === undefined || r === null ? 'n/a' : `${r.toFixed(2)}×`);
const codes = (c) => {
  const entries = Object.entries(c ?? {}).filter(([code]) => !code.startsWith('2'));
  return entries.length ? ` (${entries.map(([code, n]) => `${code}: ${n}`).join(', ')})` : '';
};
const non2xx = (t) => (t ? `${fmt(t.non_2xx)}${codes(t.status_codes)}${t.errors ? `, ${t.errors} socket errors` : ''}` : 'n/a');
const lat = (t) => (t?.best ? `${t.best.latency_ms.p50} / ${t.best.latency_ms.p99}` : 'n/a');
const mib = (kib) => (kib ? `${fmt(kib / 1024, 1)} MiB` : 'n/a');

function httpRows(s) {
  const rows = [];
  for (const c of s.comparisons ?? []) {
    const svc = s.targets[c.service];
    const other = s.targets[c.against];
    rows.push(
      `| ${s.title} | ${c.service_label} \`${svc?.endpoint ?? 'n/a'}\` | ${fmt(svc?.best?.requests_per_second)} | ${c.against_label} \`${other?.endpoint ?? ''}\` | ${fmt(other?.best?.requests_per_second)} | **${ratio(c.ratio)}** | ${lat(svc)} | ${non2xx(svc)} / ${non2xx(other)} |`,
    );
  }
  if (rows.length === 0) rows.push(`| ${s.title} | n/a | n/a | | | n/a | | ${s.note ?? ''} |`);
  return rows;
}

function eventRows(s) {
  if (!s.figures) return []; // skipped
  const f = s.figures;
  const row = (figure, detail) => `| ${s.title} | ${figure} | ${detail} |`;
  switch (s.name) {
    case 'usage_record':
    case 'subscription_create':
    case 'two_processes': {
      const e = f.events;
      if (!e) return [];
      if (e.events === null) return [row(`${fmt(e.rows)} rows`, `events not counted (no bus); ${fmt(e.responses_2xx)} 2xx responses`)];
      const ok = e.missing === 0 ? 'every row has its event' : `**${fmt(e.missing)} without an event**`;
      return [
        row(
          `${fmt(e.rows)} rows, ${fmt(e.events)} \`${e.type}\` events`,
          `${ok}; ${fmt(e.responses_2xx)} 2xx responses; outbox drained ${fmt(e.drain_wait_s, 1)} s after the load${e.outbox_pending ? `, ${fmt(e.outbox_pending)} still unpublished` : ''}`,
        ),
      ];
    }
    case 'usage_batch':
      if (f.events?.events === null) {
        return [row(`${fmt(f.http_records_per_second)} records/s accepted`, `events not counted (no bus); ${fmt(f.records)} records`)];
      }
      return [
        row(
          `${fmt(f.http_records_per_second)} records/s accepted; ${fmt(f.stream_records_per_second)} records/s published and acked`,
          `${f.callers} callers × ${f.batch_size} records; ${fmt(f.records)} records in ${fmt(f.load_s, 1)} s, all on the stream ${fmt(f.all_on_stream_after_s, 1)} s after the start (${fmt(f.stream_records_per_second_during_load)} records/s acked during the load); batch p50 / p99 ${f.http?.latency_ms.p50} / ${f.http?.latency_ms.p99} ms; missing events ${fmt(f.missing)}; non-2xx ${fmt(f.http?.non_2xx)}${codes(f.http?.status_codes)}${f.vs_usage_record ? `; ${ratio(f.vs_usage_record)} the single-record req/s` : ''}`,
        ),
      ];
    case 'events_inbound':
      return [
        row(
          `${fmt(f.events_per_second)} events/s applied`,
          `${fmt(f.applied)} / ${fmt(f.events)} \`payment.completed\` → \`active\` in ${fmt(f.apply_s, 2)} s (published in ${fmt(f.publish_s, 2)} s, ${fmt(f.publish_per_second)}/s; their own events relayed, outbox empty, at ${fmt(f.outbox_empty_s, 2)} s); dead-lettered ${fmt(f.dead_lettered)}; subscriptions created beforehand at ${fmt(f.setup_creates_per_second)}/s, non-2xx ${fmt(f.setup_non_2xx)}${codes(f.setup_status_codes)}`,
        ),
      ];
    case 'relay_latency':
      return [
        row(
          `p50 ${fmt(f.latency_ms?.p50)} ms, p99 ${fmt(f.latency_ms?.p99)} ms, max ${fmt(f.latency_ms?.max)} ms`,
          `envelope \`timestamp\` → arrival on a JetStream consumer, ${fmt(f.received)} events; offered ${fmt(f.offered_records_per_second)} records/s (${f.batch_size} per request) for ${fmt(f.offered_s, 1)} s, accepted ${fmt(f.accepted_records_per_second)}/s; missing ${fmt(f.missing)}; skipped ticks ${fmt(f.skipped_requests)}; non-2xx ${fmt(f.http?.non_2xx)}${codes(f.http?.status_codes)}`,
        ),
      ];
    case 'backlog_drain':
      return [
        row(
          `${fmt(f.drain_events_per_second)} events/s drained`,
          `${fmt(f.records)} records stored with NATS_URL=off (${fmt(f.record_records_per_second)} records/s), then all on the stream ${fmt(f.drain_s_from_first, 1)} s after the first one (${fmt(f.drain_s_from_spawn, 1)} s after spawn, ready at ${fmt(f.ready_s, 1)} s; ${fmt(f.drain_events_per_second_from_spawn)} events/s from spawn); missing ${fmt(f.missing)}`,
        ),
      ];
    default:
      return [];
  }
}

export function renderMarkdown(report) {
  const r = report.run;
  const lines = [
    '# Benchmark: product service vs bench-reference',
    '',
    `Commit \`${r.commit}\`${r.dirty ? ' (with uncommitted changes)' : ''}, ${r.started_at}; Node ${r.node}, PostgreSQL ${r.postgres}, NATS ${r.nats};`,
    `${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB; load average (1/5/15 min) ${r.load_average_at_start.join(' / ')} at start, ${r.load_average_at_end.join(' / ')} at end.`,
    `HTTP: ${r.rounds} round(s) of ${r.duration_s} s per target with ${r.connections} connections (autocannon, loopback), alternating the order, after a ${r.warmup_s} s`,
    'warm-up of each target; the best round of each target is shown. The machine is shared: only ratios within one run mean something.',
    `Took ${report.elapsed_s} s${report.incomplete ? `; **incomplete: ${report.incomplete}**` : ''}.`,
    '',
  ];
  const http = report.scenarios.filter((s) => s.kind === 'http');
  if (http.length) {
    lines.push(
      '| scenario | measured | req/s | compared with | req/s | ratio | p50 / p99 ms | non-2xx (measured / compared) |',
      '| --- | --- | ---: | --- | ---: | ---: | ---: | --- |',
    );
    for (const s of http) lines.push(...httpRows(s));
    lines.push('');
  }
  const events = report.scenarios.flatMap(eventRows);
  if (events.length) {
    lines.push('| events | result | detail |', '| --- | --- | --- |', ...events, '');
  }
  const p = report.process ?? {};
  const ready = p.time_to_ready;
  lines.push(
    '| process | figure |',
    '| --- | --- |',
    `| service RSS after the benchmark | ${mib(p.service?.rss_kib)} (peak ${mib(p.service?.peak_rss_kib)}) |`,
    ...(p.service_quiet ? [`| service RSS ${p.service_quiet.after_seconds} s later, no load | ${mib(p.service_quiet.rss_kib)} |`] : []),
    `| bare Nest RSS / reference RSS, same moment | ${mib(p.bare_nest?.rss_kib)} / ${mib(p.reference?.rss_kib)} |`,
    ready?.runs_ms?.length
      ? `| service time to ready, migrated database (median of ${ready.runs_ms.length}) | ${fmt(ready.median_ms)} ms (runs: ${ready.runs_ms.map((x) => fmt(x)).join(', ')} ms) |`
      : '| service time to ready, migrated database | not measured (scenario `startup`) |',
    `| service first start, empty database (migrations + seed) | ${p.first_start_ms ? `${fmt(p.first_start_ms)} ms` : 'n/a'} |`,
    '',
  );
  const notes = report.scenarios.filter((s) => s.note || s.notes?.length);
  if (notes.length) {
    lines.push('Notes:', '');
    for (const s of notes) for (const n of [s.note, ...(s.notes ?? [])].filter(Boolean)) lines.push(`- ${s.title}: ${n}`);
    lines.push('');
  }
  lines.push(`Reproduce: \`npm run build && npm run bench\` (scenarios: ${r.scenarios.join(', ')}; options in bench/README.md).`, '');
  return lines.join('\n');
}
