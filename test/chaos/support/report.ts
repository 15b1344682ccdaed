import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Check } from './checks.js';
import { RESULTS_DIR, say } from './run.js';

/** The headline counts every scenario reports (measured, never assumed). */
export interface Headline {
  /** what was offered: rate and duration */
  load: string;
  /** what was injected */
  fault: string;
  /** requests answered 200 */
  answered: number;
  /** changes stored (rows) */
  stored: number;
  /** events of those changes on the stream */
  events: number;
  /** answered but not stored, or stored without its event */
  lost: number;
  /** stored twice, or an event twice */
  duplicated: number;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  started_at: string;
  duration_s: number;
  config: Record<string, unknown>;
  headline: Headline;
  checks: Check[];
  counts: Record<string, unknown>;
}

const SUMMARY = 'summary.md';
const HEADER = [
  '| scenario | load | fault | answered | stored | events | lost | duplicated | checks failed | run |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
];

/** Writes results/<scenario>.json, replaces the scenario's row in results/summary.md, prints both. */
export function writeResult(result: ScenarioResult): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${result.scenario}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const failed = result.checks.filter((c) => !c.ok);
  const h = result.headline;
  const row = `| ${result.scenario} | ${h.load} | ${h.fault} | ${h.answered} | ${h.stored} | ${h.events} | ${h.lost} | ${h.duplicated} | ${
    failed.length === 0 ? 'none' : failed.map((c) => c.name).join('; ')
  } | ${result.started_at.slice(0, 16)} |`;
  const file = join(RESULTS_DIR, SUMMARY);
  const rows = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('| ') && !l.startsWith('| scenario ') && !l.startsWith('| ---'))
    : [];
  const kept = rows.filter((l) => !l.startsWith(`| ${result.scenario} |`));
  kept.push(row);
  kept.sort();
  writeFileSync(
    file,
    `# Chaos suite results\n\nOne row per scenario (its latest run); details in <scenario>.json.\n\n${[...HEADER, ...kept].join('\n')}\n`,
  );
  const lines = [
    `${result.title} (${result.duration_s} s)`,
    `  load: ${h.load}; fault: ${h.fault}`,
    `  answered ${h.answered}, stored ${h.stored}, events ${h.events}, lost ${h.lost}, duplicated ${h.duplicated}`,
    ...result.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    `  -> ${join(RESULTS_DIR, `${result.scenario}.json`)}`,
  ];
  say(result.scenario, `\n${lines.join('\n')}`);
}

/** Markdown table of rows (for soak samples and the like). */
export function markdownTable(columns: string[], rows: (string | number)[][]): string {
  return [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}
