/**
 * Chaos: the broker unreachable for 30 s (every request reset, the trade
 * stream dropped), then a trade stream that stays connected but silent, both
 * under order load (docs/runbook.md#chaos-suite).
 */
import { answers, Chaos, expectInvariants, orderLoad, report, sleep, startChaos } from './chaos-harness';

const BROKER_OUTAGE_MS = Number(process.env.CHAOS_BROKER_OUTAGE_MS ?? 30_000);
const SILENCE_MS = Number(process.env.CHAOS_STREAM_SILENCE_MS ?? 10_000);

describe('chaos: the broker down, then its stream silent', () => {
  let c: Chaos;
  beforeAll(async () => {
    c = await startChaos();
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('broker unreachable: nothing sent twice, nothing lost, positions equal the broker once it is back', async () => {
    const load = orderLoad(c.t, 'chaos-broker');
    await sleep(2_000);
    c.fake.setUnreachable(true);
    c.fake.dropStreamConnections();
    await sleep(BROKER_OUTAGE_MS);
    c.fake.setUnreachable(false);
    const backAt = Date.now();
    const recovered = await load.recovered(backAt);
    await sleep(2_000);
    await load.stop();

    expect(recovered).toBeDefined();
    const { atBroker, statuses } = await expectInvariants(c, load.sent);
    report(
      `broker down ${BROKER_OUTAGE_MS} ms: ${load.sent.length} requests, ${atBroker} at the broker, ` +
        `recovered ${recovered!.at - backAt} ms after it came back; answers: ${answers(load.sent)}; orders: ${statuses}`,
    );
  }, 180_000);

  it('trade stream silent: fills still applied (polling), positions equal the broker', async () => {
    const load = orderLoad(c.t, 'chaos-silent');
    await sleep(1_000);
    c.fake.silenceStream({ includeNewConnections: true });
    const silentAt = Date.now();
    await sleep(SILENCE_MS);
    await load.stop();
    const settled = Date.now();
    const { atBroker, statuses } = await expectInvariants(c, load.sent);
    c.fake.unsilenceStream();
    report(
      `stream silent ${SILENCE_MS} ms: ${load.sent.length} requests, ${atBroker} at the broker in all, ` +
        `settled ${Date.now() - settled} ms after the load stopped (silent since ${settled - silentAt} ms); answers: ${answers(load.sent)}; orders: ${statuses}`,
    );
  }, 180_000);
});
