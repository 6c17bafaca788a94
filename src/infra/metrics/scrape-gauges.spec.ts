import { register } from 'prom-client';
import {
  componentProbeSource,
  GaugeSource,
  killSwitchGaugeSource,
  outboxBacklogSource,
  SCRAPE_GAUGE_PROVIDERS,
  SCRAPE_METRIC,
} from './scrape-gauges';

describe('GaugeSource', () => {
  it('answers the bound source; unbinding clears it only while it is still the bound one', () => {
    const s = new GaugeSource<string>();
    expect(s.get()).toBeNull();
    const unbindA = s.bind('a');
    const unbindB = s.bind('b');
    unbindA();
    expect(s.get()).toBe('b');
    unbindB();
    expect(s.get()).toBeNull();
  });
});

describe('scrape-time gauges', () => {
  beforeAll(() => {
    for (const p of SCRAPE_GAUGE_PROVIDERS) (p as unknown as { useFactory: () => unknown }).useFactory();
  });
  afterAll(() => register.clear());
  const scrape = (name: string) => register.getSingleMetricAsString(name);

  it('kill switch: one series per state, 1 on the current one; none when unbound', async () => {
    const unbind = killSwitchGaugeSource.bind(() => 'unreadable');
    const text = await scrape(SCRAPE_METRIC.killSwitchState);
    expect(text).toContain(`${SCRAPE_METRIC.killSwitchState}{state="unreadable"} 1`);
    expect(text).toContain(`${SCRAPE_METRIC.killSwitchState}{state="engaged"} 0`);
    expect(text).toContain(`${SCRAPE_METRIC.killSwitchState}{state="disengaged"} 0`);
    unbind();
    expect(await scrape(SCRAPE_METRIC.killSwitchState)).not.toContain('state=');
  });

  it('component_up: 1 up, 0 down, per component', async () => {
    const unbind = componentProbeSource.bind(async () => ({ database: false, state_store: true }));
    const text = await scrape(SCRAPE_METRIC.componentUp);
    expect(text).toContain(`${SCRAPE_METRIC.componentUp}{component="database"} 0`);
    expect(text).toContain(`${SCRAPE_METRIC.componentUp}{component="state_store"} 1`);
    unbind();
  });

  it('outbox: both gauges from one read; a failed read leaves them at 0 rather than failing the scrape', async () => {
    let reads = 0;
    let unbind = outboxBacklogSource.bind(async () => {
      reads += 1;
      return { count: 7, oldestAgeSeconds: 42.5 };
    });
    const text = await register.metrics();
    expect(text).toContain(`${SCRAPE_METRIC.outboxBacklog} 7`);
    expect(text).toContain(`${SCRAPE_METRIC.outboxOldestAge} 42.5`);
    expect(reads).toBe(1);
    unbind();
    unbind = outboxBacklogSource.bind(() => Promise.reject(new Error('database down')));
    expect(await scrape(SCRAPE_METRIC.outboxBacklog)).toContain(`${SCRAPE_METRIC.outboxBacklog} 0`);
    unbind();
  });
});
