import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** deploy/observability, from the repository root (Jest runs there). */
export const OBSERVABILITY_DIR = join(process.cwd(), 'deploy', 'observability');
export const DASHBOARD_FILE = join(OBSERVABILITY_DIR, 'grafana', 'dashboards', 'product-service.json');
export const RULES_FILE = join(OBSERVABILITY_DIR, 'prometheus', 'product-service.rules.yaml');
export const RUNBOOK_FILE = join(OBSERVABILITY_DIR, 'RUNBOOK.md');

/** PromQL words that look like identifiers but name no series. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'atan2',
]);
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const STRINGS = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/**
 * The series names a PromQL expression (or a Grafana `label_values(...)` query) reads: identifiers
 * outside strings, label matchers, grouping clauses and ranges, that are not functions (followed by
 * `(`), keywords or numbers. Good enough for the expressions of a dashboard and a rules file.
 */
export function promqlSeriesNames(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]];
  const bare = expr
    .replace(STRINGS, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(GROUPING, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1].toLowerCase())) continue;
    names.add(m[1]);
  }
  return [...names];
}

/** The label names an expression relies on: in matchers (`{route!~"..."}`) and grouping clauses (`by (type)`). */
export function promqlLabelNames(expr: string): string[] {
  const noStrings = expr.replace(STRINGS, '""');
  const labels = new Set<string>();
  for (const braces of noStrings.matchAll(/\{([^}]*)\}/g)) {
    for (const m of braces[1].matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(m[1]);
  }
  for (const group of noStrings.matchAll(GROUPING)) {
    for (const name of group[1].split(',')) if (name.trim()) labels.add(name.trim());
  }
  return [...labels];
}

export interface NamedQuery {
  /** where it comes from: "panel <title>", "variable <name>", "alert <name>" */
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every query of the Grafana dashboard: panel targets (rows included) and query variables. */
export function dashboardQueries(dashboard: {
  panels?: Panel[];
  templating?: { list?: { name: string; query?: unknown }[] };
}): NamedQuery[] {
  const out: NamedQuery[] = [];
  const walk = (panels: Panel[] = []): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const query = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (query && query !== 'prometheus') out.push({ where: `variable ${v.name}`, expr: query });
  }
  return out;
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadDashboard(): ReturnType<typeof JSON.parse> {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
}

export function loadRules(): AlertRule[] {
  const doc = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export function ruleQueries(rules: AlertRule[]): NamedQuery[] {
  return rules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: r.expr }));
}

/** Sample names of a Prometheus text exposition (`x_bucket`, `x_count`...) with the label names seen on each. */
export function exposition(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (!m) continue;
    const labels = series.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"/g)) labels.add(l[1]);
    series.set(m[1], labels);
  }
  return series;
}

/** GitHub-style anchor of a Markdown heading ("## ProductOutboxStalled" -> "productoutboxstalled"). */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    anchors.add(
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}
