/**
 * The sim's optional request budget through the whole app (docs/simulator.md#rate-limit):
 * SIM_RATE_LIMIT_PER_MINUTE reaches the sim, which refuses calls above it as
 * Alpaca's 429 does; the gateway treats that as it treats Alpaca's (the order
 * stays pending_new for a resend, the pacing budget shrinks, the 429 is
 * counted), and without the variable the sim refuses nothing.
 */
import { SIM_BROKER } from '../../../src/broker/broker.module';
import type { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { auth, startTestApp, TestApp } from '../../support/app';

jest.setTimeout(60_000);

const ORDERS = '/api/v1/orders';
const SIM_LIMIT = 12;
const RATE_LIMITED = 'execution_gateway_broker_rate_limited_total';

describe('sim rate limit (e2e)', () => {
  const apps: TestApp[] = [];

  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
  });

  async function start(env: Record<string, string>): Promise<{ t: TestApp; sim: SimBrokerClient }> {
    const t = await startTestApp({
      env: {
        DRY_RUN: 'false',
        BROKER_RATE_LIMIT_PER_MINUTE: '1000',
        ORDER_POLL_INTERVAL_SECONDS: '3600',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
        CIRCUIT_BREAKER_ENABLED: 'false',
        ...env,
      },
    });
    apps.push(t);
    return { t, sim: t.app.get<SimBrokerClient>(SIM_BROKER) };
  }

  const order = (t: TestApp, symbol: string) =>
    t.http
      .post(ORDERS)
      .set(auth)
      .send({ symbol, side: 'buy', qty: 1, type: 'limit', limit_price: '10', time_in_force: 'day' });

  const rateLimitedTotal = async (t: TestApp) => {
    const text = (await t.http.get('/metrics').set(auth)).text;
    const line = text.split('\n').find((l) => l.startsWith(`${RATE_LIMITED} `));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };

  it('above SIM_RATE_LIMIT_PER_MINUTE the sim answers 429: the order waits pending_new, the budget shrinks', async () => {
    const { t, sim } = await start({ SIM_RATE_LIMIT_PER_MINUTE: String(SIM_LIMIT) });
    const before = await rateLimitedTotal(t);
    // One at a time, until the sim's minute is spent (the startup's reads counted too).
    const answers = [];
    for (let i = 0; i < SIM_LIMIT + 2; i += 1) {
      const res = await order(t, `SRL${i}`);
      answers.push(res);
      if (res.status === 202) break;
    }
    const refused = answers[answers.length - 1];
    expect(refused.status).toBe(202);
    expect(refused.body.status).toBe('pending_new');
    expect(answers.slice(0, -1).every((r) => r.status === 201)).toBe(true);
    // The sim never acted on it, and never admitted more than its limit.
    const id = refused.body.client_order_id as string;
    expect(sim.rateLimit.refused).toBeGreaterThanOrEqual(1);
    expect(sim.rateLimit.maxInWindow).toBe(SIM_LIMIT);
    expect(sim.submissionCount(id)).toBe(1);
    expect(await rateLimitedTotal(t)).toBeGreaterThan(before);
    const health = await t.http.get('/health').set(auth);
    expect(health.body.details.broker_pacing).toMatchObject({ budget: 1000, budget_in_force: 900 });
  });

  it('off without the variable: as many calls as the gateway sends', async () => {
    const { t, sim } = await start({});
    const answers = await Promise.all(Array.from({ length: SIM_LIMIT + 8 }, (_, i) => order(t, `SNL${i}`)));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
    expect(sim.rateLimit.perWindow).toBeNull();
    expect(sim.rateLimit.refused).toBe(0);
  });
});
