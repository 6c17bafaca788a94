/**
 * The alert rules (ops/prometheus/alerts.yml) and the Grafana dashboard
 * (ops/grafana/dashboards/) only name metrics the gateway really exports, and
 * the scrape-time gauges behind them report what they should
 * (docs/operations.md#metrics, docs/runbook.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { OrderEventPublisher } from '../../../src/events/order-event.publisher';
import { SystemClock } from '../../../src/infra/clock/clock';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

const ROOT = join(__dirname, '../../..');
const ALERTS = join(ROOT, 'ops/prometheus/alerts.yml');
const DASHBOARD = join(ROOT, 'ops/grafana/dashboards/execution-gateway.json');
/** Series that Prometheus makes itself rather than scraping them. */
const SYNTHETIC = new Set(['up']);
/** PromQL words that may stand before `{` or `(` and are not metric names. */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }>;
}
interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
}

function alertExpressions(): string[] {
  const file = parse(readFileSync(ALERTS, 'utf8')) as RuleFile;
  return file.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

function dashboardExpressions(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/**
 * Metric names in an expression: the identifiers that select series (followed
 * by a selector `{`, a range `[`, a comparison or the end), not functions
 * (followed by `(`), label names (inside `{}` or `by (...)`) or strings.
 */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutGroupings = withoutStrings
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of withoutGroupings.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = withoutGroupings.slice(m.index + m[0].length).trimStart();
    const before = withoutGroupings.slice(0, m.index);
    if (after.startsWith('(') || PROMQL_WORDS.has(m[0]) || /\d$|\d\.$/.test(before)) continue;
    if (/^(?:and|or|unless|inf|nan)$/i.test(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

/**
 * The series names a Prometheus text exposition declares: every `# TYPE` (a
 * labelled counter has no sample until its first increment, but is declared),
 * a histogram's `_bucket`, `_count` and `_sum`, and every sample name.
 */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const declared = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (declared) {
      const [, name, type] = declared;
      names.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(name + suffix);
    } else if (line && !line.startsWith('#')) {
      names.add(/^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)![0]);
    }
  }
  return names;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('monitoring assets against /metrics (e2e, sim broker)', () => {
  let t: TestApp;
  const scrape = async () => (await t.http.get('/metrics')).text;

  beforeAll(async () => {
    t = await startTestApp({
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1' },
      broker: new SimBrokerClient({ clock: new SystemClock() }),
    });
    // One order through the broker, so the broker and HTTP histograms have samples.
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'OPSM', side: 'buy', qty: 2, strategy_id: 'ops_metrics' });
    expect(res.status).toBe(201);
    const id = res.body.client_order_id as string;
    await eventually(
      async () => (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body.status,
      (s) => s === 'filled',
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the name extractor finds metric names and skips functions, labels, strings and keywords', () => {
    expect(
      metricNames(
        'sum by (le, route) (rate(a_bucket{route="/x", status_code=~"5.."}[$__rate_interval])) / on (job) b_count > 0.5 or max(c) == 1 and d',
      ).sort(),
    ).toEqual(['a_bucket', 'b_count', 'c', 'd']);
  });

  it('every metric in the alert rules and the dashboard is exported by the gateway', async () => {
    const exported = exportedNames(await scrape());
    const used = new Map<string, string>();
    for (const e of alertExpressions()) for (const n of metricNames(e)) used.set(n, 'ops/prometheus/alerts.yml');
    for (const e of dashboardExpressions()) for (const n of metricNames(e)) used.set(n, 'dashboard');
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used]
      .filter(([n]) => !SYNTHETIC.has(n) && !exported.has(n))
      .map(([n, where]) => `${n} (${where})`);
    expect(missing).toEqual([]);
  });

  it('the rules and the dashboard cover kill switch, breaker, reconciliation, broker stream, outbox, broker errors, 5xx, submit latency and broker pacing', () => {
    const alerts = alertExpressions().join('\n');
    for (const n of [
      'execution_gateway_kill_switch_state',
      'execution_gateway_circuit_breaker_tripped',
      'execution_gateway_reconciliation_runs_total',
      'execution_gateway_reconciliation_seconds_since_success',
      'execution_gateway_reconciliation_open_findings',
      'execution_gateway_component_up',
      'execution_gateway_order_event_outbox_oldest_age_seconds',
      'execution_gateway_broker_request_duration_seconds_count',
      'execution_gateway_http_request_duration_seconds_count',
      'execution_gateway_http_request_duration_seconds_bucket',
      'execution_gateway_broker_pacing_queue_depth{class="submit"}',
      'execution_gateway_broker_pacing_budget',
      'execution_gateway_broker_pacing_wait_seconds_bucket{class="cancel"}',
    ])
      expect(alerts).toContain(n);
    const panels = dashboardExpressions().join('\n');
    for (const n of [
      'orders_total',
      'broker_request_duration',
      'kill_switch_state',
      'reconciliation_open_findings',
      'broker_pacing_queue_depth',
      'broker_pacing_budget_used',
      'broker_pacing_budget',
      'broker_pacing_wait_seconds_bucket',
      'strategy_realized_pl_today',
      'strategy_unrealized_pl',
    ])
      expect(panels).toContain(`execution_gateway_${n}`);
  });

  it('the broker pacing metrics are scraped: queue depth by class, budget used and in force, waits of a cancel', async () => {
    // A limit buy far below the sim's price rests at the broker; its cancel goes through the pacing as a cancel.
    const placed = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'OPSP', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1', strategy_id: 'ops_metrics' });
    expect(placed.status).toBe(201);
    const waits = (text: string, cls: string) =>
      sample(text, `execution_gateway_broker_pacing_wait_seconds_count{class="${cls}"}`) ?? 0;
    const cancelsBefore = waits(await scrape(), 'cancel');
    expect((await t.http.post(`/api/v1/orders/${placed.body.client_order_id}/cancel`).set(auth)).status).toBe(200);

    const text = await eventually(scrape, (s) => waits(s, 'cancel') > cancelsBefore);
    expect(waits(text, 'cancel')).toBeGreaterThan(cancelsBefore);
    // Reads (the startup reconciliation, order lookups) wait for their slots too.
    expect(waits(text, 'read')).toBeGreaterThan(0);
    expect(text).toMatch(/^execution_gateway_broker_pacing_wait_seconds_bucket\{le="1",class="cancel"\} \d+$/m);
    // Idle now: nothing queued on this replica, in any class.
    for (const cls of ['cancel', 'submit', 'read'])
      expect(sample(text, `execution_gateway_broker_pacing_queue_depth{class="${cls}"}`)).toBe(0);
    expect(sample(text, 'execution_gateway_broker_pacing_budget')).toBe(t.config.broker.rateLimitPerMinute);
    expect(sample(text, 'execution_gateway_broker_pacing_budget_used')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'execution_gateway_broker_rate_limited_total')).toBe(0);
  });

  it('component_up reports database, state store and broker stream as up', async () => {
    const text = await scrape();
    for (const c of ['database', 'state_store', 'broker_stream'])
      expect(sample(text, `execution_gateway_component_up{component="${c}"}`)).toBe(1);
  });

  it('kill_switch_state follows engage and disengage', async () => {
    const state = (text: string) =>
      ['engaged', 'disengaged', 'unreadable'].filter(
        (s) => sample(text, `execution_gateway_kill_switch_state{state="${s}"}`) === 1,
      );
    expect(state(await scrape())).toEqual(['disengaged']);
    const engaged = await t.http
      .post('/api/v1/kill-switch/engage')
      .set(auth)
      .send({ reason: 'metrics test', operator: 'ops' });
    expect(engaged.status).toBe(200);
    expect(state(await eventually(scrape, (s) => state(s)[0] === 'engaged'))).toEqual(['engaged']);
    expect((await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'ops' })).status).toBe(200);
    expect(state(await eventually(scrape, (s) => state(s)[0] === 'disengaged'))).toEqual(['disengaged']);
  });

  it('the outbox gauges count unpublished events and the age of the oldest', async () => {
    const publisher = t.app.get(OrderEventPublisher);
    const backlog = (s: string) => sample(s, 'execution_gateway_order_event_outbox_backlog');
    expect(backlog(await eventually(scrape, (s) => backlog(s) === 0))).toBe(0);
    await publisher.stop();
    try {
      await t.db.query(
        `INSERT INTO order_events (client_order_id, strategy_id, symbol, event_type, status, payload, created_at)
         VALUES ('ops-outbox-1', 'ops', 'OPSM', 'order.status', 'new', '{}', now() - interval '300 seconds'),
                ('ops-outbox-2', 'ops', 'OPSM', 'order.status', 'new', '{}', now())`,
      );
      const text = await scrape();
      expect(backlog(text)).toBe(2);
      const age = sample(text, 'execution_gateway_order_event_outbox_oldest_age_seconds')!;
      expect(age).toBeGreaterThanOrEqual(300);
      expect(age).toBeLessThan(360);
    } finally {
      publisher.start();
    }
    expect(backlog(await eventually(scrape, (s) => backlog(s) === 0))).toBe(0);
  });
});
