/**
 * BENCH_ONLY=reconciliation: how long one reconciliation run takes with 1,000
 * open orders (BENCH_RECON_ORDERS). The real gateway (in this process, real
 * PostgreSQL and Redis) reconciles against an in-memory broker that answers
 * every report after BENCH_RECON_BROKER_LATENCY_MS (default 25 ms, a paper
 * API round trip): all orders are open at the broker, and on the first run
 * 10 % of them have fills the gateway missed (filled at the broker, so each
 * costs a correction, a fill and a position rebuild) and 1 % are orphans.
 * Then steady-state runs, where nothing differs.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createApp } from '../src/app.factory';
import {
  BrokerClient,
  BrokerFill,
  BrokerOrder,
  BrokerPosition,
  ListFillsQuery,
  ListOrdersQuery,
} from '../src/broker/broker-client.port';
import { loadConfig } from '../src/config/app-config';
import { ReconciliationService } from '../src/reconciliation/reconciliation.service';
import { BenchConfig, log } from './config';
import { recreateDatabase } from './database';

export interface ReconciliationBenchConfig {
  pgAdminUrl: string;
  redisUrl: string;
  orders: number;
  brokerLatencyMs: number;
  steadyRuns: number;
  log: (message: string) => void;
}

export interface ReconciliationBenchResult {
  orders: number;
  brokerLatencyMs: number;
  firstRun: { ms: number; summary: Record<string, unknown> | null };
  steadyRunsMs: number[];
  brokerCalls: number;
}

const DATABASE_NAME = 'eg_bench_reconciliation';
const T0 = new Date(Date.now() - 3600_000);

class BenchBroker implements BrokerClient {
  readonly name = 'bench';
  calls = 0;
  orders = new Map<string, BrokerOrder>();
  fills: BrokerFill[] = [];
  positions: BrokerPosition[] = [];

  constructor(private readonly latencyMs: number) {}

  private async wait(): Promise<void> {
    this.calls += 1;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
  }

  submitOrder(): Promise<BrokerOrder> {
    return Promise.reject(new Error('the reconciliation bench sends no orders'));
  }
  cancelOrder(): Promise<void> {
    return Promise.resolve();
  }
  replaceOrder(): Promise<BrokerOrder> {
    return Promise.reject(new Error('not supported'));
  }
  cancelAllOrders(): Promise<Array<{ brokerOrderId: string; status: number }>> {
    return Promise.resolve([]);
  }
  closePosition(): Promise<BrokerOrder> {
    return Promise.reject(new Error('not supported'));
  }
  async getOrder(id: string): Promise<BrokerOrder | null> {
    await this.wait();
    return this.orders.get(id) ?? null;
  }
  async getOrderByClientOrderId(cid: string): Promise<BrokerOrder | null> {
    await this.wait();
    return [...this.orders.values()].find((o) => o.clientOrderId === cid) ?? null;
  }
  async listOrders(q: ListOrdersQuery): Promise<BrokerOrder[]> {
    await this.wait();
    const open = (o: BrokerOrder) => o.status !== 'filled' && o.status !== 'canceled';
    const rows = [...this.orders.values()]
      .filter((o) => (q.status === 'all' ? true : q.status === 'open' ? open(o) : !open(o)))
      .filter((o) => !q.until || o.createdAt < q.until)
      .filter((o) => !q.after || o.createdAt > q.after)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    return rows.slice(0, Math.min(q.limit ?? 500, 500));
  }
  async listPositions(): Promise<BrokerPosition[]> {
    await this.wait();
    return this.positions;
  }
  async listFills(q: ListFillsQuery): Promise<{ fills: BrokerFill[]; nextPageToken: string | null }> {
    await this.wait();
    let rows = this.fills.filter((f) => !q.after || f.transactionTime > q.after);
    if (q.pageToken) rows = rows.slice(rows.findIndex((f) => f.executionId === q.pageToken) + 1);
    const size = q.pageSize ?? 100;
    const page = rows.slice(0, size);
    return { fills: page, nextPageToken: page.length === size ? page[page.length - 1].executionId : null };
  }
  getAccount(): Promise<never> {
    return Promise.reject(new Error('not supported'));
  }
  connect(): Promise<void> {
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
  streamState(): 'connected' {
    return 'connected';
  }
}

function brokerOrder(i: number, status: string, filledQty: string, avg: string | null): BrokerOrder {
  const at = new Date(T0.getTime() + i * 10);
  return {
    id: `bench-b-${i}`,
    clientOrderId: `bench-c-${i}`,
    symbol: `S${i % 50}`,
    side: 'buy',
    type: 'limit',
    timeInForce: 'day',
    qty: '10',
    limitPrice: '100',
    stopPrice: null,
    status,
    filledQty,
    filledAvgPrice: avg,
    createdAt: at,
    updatedAt: at,
    submittedAt: at,
    filledAt: status === 'filled' ? at : null,
    canceledAt: null,
    replacedBy: null,
    replaces: null,
  };
}

export async function runReconciliationPhase(cfg: ReconciliationBenchConfig): Promise<ReconciliationBenchResult> {
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, DATABASE_NAME);
  const broker = new BenchBroker(cfg.brokerLatencyMs);
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: cfg.redisUrl,
    REDIS_KEY_PREFIX: `eg_bench:reconciliation:${randomBytes(3).toString('hex')}:`,
    ADMIN_API_KEY: randomBytes(16).toString('hex'),
    LOG_LEVEL: 'warn',
    DRY_RUN: 'false',
    BROKER: 'sim',
    PORT: '0',
    ORDER_POLL_INTERVAL_SECONDS: '3600',
    RECONCILIATION_INTERVAL_SECONDS: '86400',
    // The boot run is not measured: it is made to wait until the books are seeded.
    RECONCILIATION_STARTUP_DELAY_SECONDS: '3600',
  });
  const app = await createApp(config, { broker });
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    cfg.log(`reconciliation: seeding ${cfg.orders} open orders (10% with missed fills, 1% orphans at the broker)`);
    const missed = Math.floor(cfg.orders / 10);
    await pg.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, limit_price, time_in_force,
                           status, broker_order_id, metadata, created_at, updated_at, submitted_at)
       SELECT 'bench-c-' || i, 'bench', 'S' || (i % 50), 'buy', 10, 'limit', 100, 'day', 'new', 'bench-b-' || i,
              '{}', $1::timestamptz + i * interval '10 ms', now(), now()
         FROM generate_series(0, $2 - 1) AS i`,
      [T0, cfg.orders],
    );
    const position = new Map<string, number>();
    for (let i = 0; i < cfg.orders; i++) {
      if (i < missed) {
        broker.orders.set(`bench-b-${i}`, brokerOrder(i, 'filled', '10', '99.5'));
        broker.fills.push({
          executionId: `bench-x-${i}`,
          brokerOrderId: `bench-b-${i}`,
          symbol: `S${i % 50}`,
          side: 'buy',
          qty: '10',
          price: '99.5',
          cumQty: '10',
          leavesQty: '0',
          transactionTime: new Date(Date.now() - 60_000 + i),
        });
        position.set(`S${i % 50}`, (position.get(`S${i % 50}`) ?? 0) + 10);
      } else {
        broker.orders.set(`bench-b-${i}`, brokerOrder(i, 'new', '0', null));
      }
    }
    for (let k = 0; k < Math.max(1, Math.floor(cfg.orders / 100)); k++) {
      const o = brokerOrder(cfg.orders + k, 'new', '0', null);
      broker.orders.set(o.id, { ...o, id: `bench-orphan-${k}`, clientOrderId: `foreign-${k}` });
    }
    broker.positions = [...position].map(([symbol, qty]) => ({
      symbol,
      qty: String(qty),
      avgEntryPrice: '99.5',
      marketValue: null,
      currentPrice: null,
      unrealizedPl: null,
    }));

    const service = app.get(ReconciliationService);
    const measure = async () => {
      const t0 = performance.now();
      const outcome = await service.requestRun();
      const ms = performance.now() - t0;
      if (!outcome.done) throw new Error('the run did not finish within the wait');
      if (outcome.status.state.lastRunOk !== true) throw new Error(`the run failed: ${outcome.status.state.lastError}`);
      return { ms: outcome.status.state.lastRunDurationMs ?? ms, summary: outcome.status.state.lastRunSummary };
    };
    const callsBefore = broker.calls;
    cfg.log('reconciliation: first run (corrections)');
    const firstRun = await measure();
    const brokerCalls = broker.calls - callsBefore;
    const steadyRunsMs: number[] = [];
    for (let i = 0; i < cfg.steadyRuns; i++) {
      cfg.log(`reconciliation: steady-state run ${i + 1}/${cfg.steadyRuns}`);
      steadyRunsMs.push((await measure()).ms);
    }
    return { orders: cfg.orders, brokerLatencyMs: cfg.brokerLatencyMs, firstRun, steadyRunsMs, brokerCalls };
  } finally {
    await pg.end();
    await app.close();
  }
}

export function formatReconciliationReport(r: ReconciliationBenchResult): string {
  const steady = [...r.steadyRunsMs].sort((a, b) => a - b);
  const median = steady.length ? steady[Math.floor(steady.length / 2)] : null;
  return [
    '',
    `reconciliation: ${r.orders} open orders, in-memory broker answering after ${r.brokerLatencyMs} ms`,
    `  first run (corrections):  ${r.firstRun.ms.toFixed(0)} ms, ${r.brokerCalls} broker calls; ${JSON.stringify(r.firstRun.summary)}`,
    `  steady-state runs:        ${steady.map((x) => x.toFixed(0)).join(', ')} ms${median === null ? '' : ` (median ${median.toFixed(0)} ms)`}`,
  ].join('\n');
}

/** One reconciliation run with BENCH_RECON_ORDERS open orders (no target), and its report printed at once. */
export async function measureReconciliation(cfg: BenchConfig): Promise<ReconciliationBenchResult> {
  const result = await runReconciliationPhase({
    pgAdminUrl: cfg.pgAdminUrl,
    redisUrl: cfg.redisUrl,
    orders: Number(process.env.BENCH_RECON_ORDERS?.trim() || 1000),
    brokerLatencyMs: Number(process.env.BENCH_RECON_BROKER_LATENCY_MS?.trim() || 25),
    steadyRuns: 3,
    log,
  });
  process.stdout.write(`${formatReconciliationReport(result)}\n`);
  return result;
}
