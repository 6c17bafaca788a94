/**
 * Prints the Grafana dashboard's queries as a Prometheus rules file (one
 * recording rule per panel query, Grafana's $__rate_interval and friends
 * replaced by 5m), so `promtool check rules` can check their PromQL syntax.
 *   node scripts/ops/dashboard-rules.mjs ops/grafana/dashboards/execution-gateway.json > /tmp/dashboard-rules.yml
 */
/* global process, console */
import { readFileSync } from 'node:fs';

const dashboard = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rules = [];
for (const panel of dashboard.panels ?? []) {
  for (const target of panel.targets ?? []) {
    const expr = target.expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
    rules.push({ record: `dashboard:panel_${panel.id}_${target.refId}`, expr });
  }
}
if (rules.length === 0) {
  console.error('no panel queries found');
  process.exit(1);
}
// JSON is YAML: promtool reads it as is.
console.log(JSON.stringify({ groups: [{ name: 'dashboard-queries', rules }] }, null, 2));
