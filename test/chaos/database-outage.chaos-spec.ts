/**
 * Chaos: PostgreSQL unreachable for 10 s under order load (docs/runbook.md#chaos-suite).
 * The gateway's database connections go through a TCP proxy the test cuts.
 */
import { answers, accepted, Chaos, expectInvariants, orderLoad, report, sleep, startChaos } from './chaos-harness';

const OUTAGE_MS = Number(process.env.CHAOS_DB_OUTAGE_MS ?? 10_000);

describe('chaos: PostgreSQL unreachable under load', () => {
  let c: Chaos;
  beforeAll(async () => {
    c = await startChaos();
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('loses nothing, sends nothing twice, and recovers by itself', async () => {
    const load = orderLoad(c.t, 'chaos-db');
    await sleep(2_000);
    c.proxy.cut();
    const cutAt = Date.now();
    await sleep(OUTAGE_MS);
    c.proxy.restore();
    const restoredAt = Date.now();
    const recovered = await load.recovered(restoredAt);
    await sleep(2_000);
    await load.stop();

    expect(recovered).toBeDefined();
    expect(accepted(load.sent).length).toBeGreaterThan(20);
    const { atBroker, statuses } = await expectInvariants(c, load.sent);
    const during = load.sent.filter((s) => s.at >= cutAt && s.at <= restoredAt).length;
    report(
      `database cut ${OUTAGE_MS} ms: ${load.sent.length} requests (${during} during the cut), ${atBroker} at the broker, ` +
        `recovered ${recovered!.at - restoredAt} ms after the restore; answers: ${answers(load.sent)}; orders: ${statuses}`,
    );
  }, 150_000);
});
