/**
 * `npm run demo`: a scripted session against a running local gateway, printing
 * what happens at each step. It uses the typed client (clients/typescript), so
 * it doubles as an example of it (docs/clients.md).
 *
 * GATEWAY_URL (default http://localhost:8002) and GATEWAY_API_KEY (default: the
 * key in .data/bootstrap-key, written at the first start) choose the gateway.
 * It refuses to run against a production gateway: it engages the kill switch.
 */
import { readFileSync } from 'node:fs';
import Decimal from 'decimal.js';
import { join } from 'node:path';
import { createGatewayClient, type components, type GatewayClient } from '../clients/typescript/gateway-client';

type OrderDetail = components['schemas']['OrderDetailDto'];
type OrderRequest = components['schemas']['OrderRequestDto'];

const BASE_URL = process.env.GATEWAY_URL ?? 'http://localhost:8002';
const SYMBOL = process.env.DEMO_SYMBOL ?? 'AAPL';
const STRATEGY = 'demo';
const RUN = Date.now().toString(36);
const TERMINAL = new Set(['filled', 'canceled', 'rejected', 'expired', 'dry_run', 'replaced']);

let stepNo = 0;
function step(title: string): void {
  stepNo += 1;
  console.log(`\n${stepNo}. ${title}`);
}
function say(text: string): void {
  console.log(`   ${text}`);
}

/** The key: GATEWAY_API_KEY, else the bootstrap key the gateway wrote at its first start. */
function apiKey(): string {
  const fromEnv = process.env.GATEWAY_API_KEY?.trim();
  if (fromEnv) return fromEnv;
  const path = join(process.cwd(), '.data', 'bootstrap-key');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(
      `no API key: set GATEWAY_API_KEY, or start the gateway once from this directory (it writes ${path})`,
    );
  }
  const key = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#') && !/\s/.test(l));
  if (!key) throw new Error(`${path} holds no key: set GATEWAY_API_KEY`);
  return key;
}

function describeError(error: unknown, status: number): string {
  const body = error as Partial<components['schemas']['ErrorResponseDto']> | undefined;
  return `${status} ${body?.error ?? ''} ${body?.message ?? ''}`.trim();
}

async function submit(gw: GatewayClient, order: OrderRequest, waitMs = 10_000): Promise<OrderDetail | undefined> {
  const { data, error, response } = await gw.POST('/api/v1/orders', { body: order });
  if (error || !data) {
    say(`refused: ${describeError(error, response.status)}`);
    return undefined;
  }
  say(
    `${response.status} ${data.client_order_id}: ${data.side} ${data.qty} ${data.symbol} ${data.order_type} → ${data.status}`,
  );
  return follow(gw, data.client_order_id, waitMs);
}

/** Polls an order until it is terminal or the time is up, printing each change of status. */
async function follow(gw: GatewayClient, id: string, waitMs: number): Promise<OrderDetail | undefined> {
  const until = Date.now() + waitMs;
  let last = '';
  for (;;) {
    const { data } = await gw.GET('/api/v1/orders/{client_order_id}', { params: { path: { client_order_id: id } } });
    if (!data) return undefined;
    const line = `${data.status}, filled ${data.filled_qty}${data.filled_avg_price ? ` @ ${data.filled_avg_price}` : ''}`;
    if (line !== last) say(`   ${line}`);
    last = line;
    if (TERMINAL.has(data.status) || Date.now() > until) return data;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts a TWAP plan and follows it to its end (about a minute), printing each change. */
async function twap(gw: GatewayClient): Promise<void> {
  const created = await gw.POST('/api/v1/orders/slice', {
    body: {
      strategy_id: STRATEGY,
      symbol: SYMBOL,
      side: 'buy',
      qty: 60,
      duration_minutes: 1,
      interval_seconds: 10,
      idempotency_key: RUN,
    },
  });
  if (!created.data) {
    say(`refused: ${describeError(created.error, created.response.status)}`);
    return;
  }
  const id = created.data.parent_order_id;
  say(
    `${created.response.status} plan ${id}: ${created.data.total_slices} slices, arrival price ${created.data.arrival_price ?? 'n/a'}`,
  );
  const until = Date.now() + 90_000;
  let last = '';
  for (;;) {
    const { data } = await gw.GET('/api/v1/orders/{parent_id}/slices', { params: { path: { parent_id: id } } });
    if (!data) return;
    const slices = data.slices.map((sl) => `${sl.slice_num}:${sl.status}`).join(' ');
    const line = `${data.status}, filled ${data.filled_qty}/${data.total_qty}${data.filled_avg_price ? ` @ ${data.filled_avg_price}` : ''}, slippage ${data.slippage_bps ?? 'n/a'} bps | ${slices}`;
    if (line !== last) say(line);
    last = line;
    if (!['scheduled', 'active'].includes(data.status) || Date.now() > until) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function main(): Promise<void> {
  const gw = createGatewayClient({ baseUrl: BASE_URL, apiKey: apiKey() });
  console.log(`Execution Gateway demo against ${BASE_URL} (run ${RUN})`);

  step('What is this gateway?');
  const config = await gw.GET('/api/v1/config');
  if (!config.data) throw new Error(`GET /api/v1/config: ${describeError(config.error, config.response.status)}`);
  const { environment, broker, dry_run: dryRun } = config.data;
  say(`environment ${environment}, broker ${broker}, dry run ${dryRun}`);
  if (environment === 'production') throw new Error('refusing to run the demo against a production gateway');
  if (dryRun) say('DRY_RUN: orders are checked and recorded, never sent. Start with DRY_RUN=false to see fills.');
  const ks = await gw.GET('/api/v1/kill-switch/status');
  if (ks.data?.engaged) throw new Error(`the kill switch is engaged (${ks.data.reason}): disengage it first`);

  step(`A market order: buy 10 ${SYMBOL}`);
  const bought = await submit(gw, {
    client_order_id: `demo-${RUN}-buy`,
    strategy_id: STRATEGY,
    symbol: SYMBOL,
    side: 'buy',
    qty: 10,
    order_type: 'market',
    time_in_force: 'day',
  });

  step('The same order again: the gateway answers with the first one, it never sends twice');
  const again = await gw.POST('/api/v1/orders', {
    body: {
      client_order_id: `demo-${RUN}-buy`,
      strategy_id: STRATEGY,
      symbol: SYMBOL,
      side: 'buy',
      qty: 10,
      order_type: 'market',
      time_in_force: 'day',
    },
  });
  say(`${again.response.status} ${again.data?.client_order_id ?? describeError(again.error, again.response.status)}`);

  step('A limit order below the market rests until the price comes to it');
  const reference = bought?.filled_avg_price ?? '100';
  const limit = new Decimal(reference).times('0.99').toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed(2);
  const resting = await submit(
    gw,
    {
      client_order_id: `demo-${RUN}-limit`,
      strategy_id: STRATEGY,
      symbol: SYMBOL,
      side: 'buy',
      qty: 5,
      order_type: 'limit',
      limit_price: limit,
      time_in_force: 'day',
    },
    2_000,
  );

  if (resting && !TERMINAL.has(resting.status) && broker === 'sim' && !dryRun) {
    step(`Move the sim's ${SYMBOL} price through the limit (an operator endpoint of the simulator)`);
    const through = new Decimal(limit).minus('0.05').toFixed(2);
    const moved = await gw.PUT('/api/v1/sim/prices/{symbol}', {
      params: { path: { symbol: SYMBOL } },
      body: { price: through, operator: 'demo' },
    });
    say(`${moved.response.status}: ${SYMBOL} now ${through}`);
    await follow(gw, resting.client_order_id, 5_000);
  }

  const open =
    resting &&
    (
      await gw.GET('/api/v1/orders/{client_order_id}', {
        params: { path: { client_order_id: resting.client_order_id } },
      })
    ).data;
  if (open && !TERMINAL.has(open.status)) {
    step('Cancel the resting limit order');
    const cancel = await gw.POST('/api/v1/orders/{client_order_id}/cancel', {
      params: { path: { client_order_id: open.client_order_id } },
    });
    say(`${cancel.response.status} ${cancel.data?.status ?? describeError(cancel.error, cancel.response.status)}`);
    await follow(gw, open.client_order_id, 5_000);
  }

  step('Positions, marked to market, and the account');
  const positions = await gw.GET('/api/v1/positions');
  for (const p of positions.data?.positions ?? []) {
    say(
      `${p.symbol}: ${p.qty} @ ${p.avg_entry_price}, now ${p.current_price ?? 'n/a'}, realized ${p.realized_pl}, unrealized ${p.unrealized_pl ?? 'n/a'}`,
    );
  }
  if (!positions.data?.positions.length) say('no positions (nothing filled yet)');
  const account = await gw.GET('/api/v1/account');
  if (account.data) {
    const a = account.data;
    say(
      `equity ${a.equity} ${a.currency}, cash ${a.cash}, buying power ${a.buying_power}, long ${a.long_market_value}, short ${a.short_market_value}`,
    );
  } else say(`account: ${describeError(account.error, account.response.status)}`);

  if (!dryRun) {
    step(`TWAP: buy 60 ${SYMBOL} over one minute, one slice every 10 s`);
    await twap(gw);
  }

  step('The kill switch: engage it, see an order refused, release it');
  const engage = await gw.POST('/api/v1/kill-switch/engage', {
    body: { reason: 'demo: what a halt looks like', operator: 'demo' },
  });
  say(`engage → ${engage.response.status}, engaged ${engage.data?.engaged}`);
  await submit(gw, {
    client_order_id: `demo-${RUN}-halted`,
    strategy_id: STRATEGY,
    symbol: SYMBOL,
    side: 'buy',
    qty: 1,
    order_type: 'market',
    time_in_force: 'day',
  });
  const disengage = await gw.POST('/api/v1/kill-switch/disengage', { body: { operator: 'demo' } });
  say(`disengage → ${disengage.response.status}, engaged ${disengage.data?.engaged}`);

  console.log('\nDone. Everything above is in the audit log and on the event stream (GET /api/v1/events).');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
