#!/usr/bin/env bash
# Validates the Prometheus files of deploy/observability/prometheus with promtool:
#   check rules   syntax and PromQL of the alerting rules
#   test rules    the rules' unit tests (synthetic series; which alerts fire when)
#   check rules   the PromQL of every Grafana dashboard query too (written as recording rules into a
#                 temporary file, Grafana's variables replaced by sample values)
# (Not `promtool check config` on prometheus.example.yaml: Debian builds Prometheus without the
# Kubernetes service discovery, so its promtool rejects kubernetes_sd_configs.)
# promtool comes from Debian's `prometheus` package; .ci/run installs it when missing (into
# .tools/promtool/), and this script also looks there.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=deploy/observability/prometheus

command -v promtool >/dev/null || export PATH="$PWD/.tools/promtool:$PATH"
command -v promtool >/dev/null || {
  echo "FAIL: promtool not found (apt-get install prometheus, or run .ci/run which extracts it into .tools/promtool/)" >&2
  exit 1
}
promtool check rules "$DIR"/product-service.rules.yaml
promtool test rules "$DIR"/product-service.rules.test.yaml

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# JSON is YAML: one recording rule per panel query
node -e '
  const fs = require("node:fs");
  const rules = [];
  const walk = (panels = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (!t.expr) continue;
        const expr = t.expr.replaceAll("$__rate_interval", "1m").replaceAll("$job", "product-service").replaceAll("$instance", ".*");
        rules.push({ record: `dashboard_query_${rules.length + 1}`, expr, labels: { panel: p.title } });
      }
      walk(p.panels);
    }
  };
  walk(JSON.parse(fs.readFileSync(process.argv[1], "utf8")).panels);
  if (rules.length === 0) throw new Error("no panel query found");
  process.stdout.write(JSON.stringify({ groups: [{ name: "grafana-dashboard", rules }] }, null, 1));
' deploy/observability/grafana/dashboards/product-service.json >"$tmp/dashboard-queries.rules.yaml"
echo "(the queries of deploy/observability/grafana/dashboards/product-service.json)"
promtool check rules "$tmp/dashboard-queries.rules.yaml"
