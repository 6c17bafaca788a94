/**
 * Gauges computed when Prometheus scrapes (docs/operations.md#metrics): each
 * reads a source that the owning service binds at start and unbinds at
 * shutdown, so a value is never older than the scrape. Without a bound source
 * (not started yet, or shut down) a gauge has no samples rather than a stale one.
 */
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';

export const SCRAPE_METRIC = {
  killSwitchState: 'execution_gateway_kill_switch_state',
  componentUp: 'execution_gateway_component_up',
  outboxBacklog: 'execution_gateway_order_event_outbox_backlog',
  outboxOldestAge: 'execution_gateway_order_event_outbox_oldest_age_seconds',
} as const;

/** A value a scrape-time gauge reads; the last one bound wins (one per process in production). */
export class GaugeSource<T> {
  private current: T | null = null;

  /** Returns the function that unbinds it (only if it is still the bound one). */
  bind(source: T): () => void {
    this.current = source;
    return () => {
      if (this.current === source) this.current = null;
    };
  }

  get(): T | null {
    return this.current;
  }
}

export type KillSwitchGaugeState = 'engaged' | 'disengaged' | 'unreadable';
export const KILL_SWITCH_GAUGE_STATES: readonly KillSwitchGaugeState[] = ['engaged', 'disengaged', 'unreadable'];

/** Health of one component as this replica sees it: true up, false down or degraded. */
export type ComponentProbe = () => Promise<Record<string, boolean>>;

export interface OutboxBacklog {
  /** Order events written but not yet published. */
  count: number;
  /** Age of the oldest of them in seconds (database clock), 0 when none. */
  oldestAgeSeconds: number;
}

export const killSwitchGaugeSource = new GaugeSource<() => KillSwitchGaugeState>();
export const componentProbeSource = new GaugeSource<ComponentProbe>();
export const outboxBacklogSource = new GaugeSource<() => Promise<OutboxBacklog | null>>();

/** One outbox read serves both outbox gauges of one scrape. */
let pendingBacklog: Promise<OutboxBacklog | null> | null = null;
function readBacklog(): Promise<OutboxBacklog | null> {
  const source = outboxBacklogSource.get();
  if (!source) return Promise.resolve(null);
  pendingBacklog ??= source()
    .catch(() => null)
    .finally(() => {
      pendingBacklog = null;
    });
  return pendingBacklog;
}

export const SCRAPE_GAUGE_PROVIDERS = [
  makeGaugeProvider({
    name: SCRAPE_METRIC.killSwitchState,
    help: 'Kill switch as this replica sees it, one series per state (engaged, disengaged, unreadable): 1 for the current one',
    labelNames: ['state'],
    collect(this: Gauge<'state'>) {
      this.reset();
      const read = killSwitchGaugeSource.get();
      if (!read) return;
      const now = read();
      for (const state of KILL_SWITCH_GAUGE_STATES) this.set({ state }, state === now ? 1 : 0);
    },
  }),
  makeGaugeProvider({
    name: SCRAPE_METRIC.componentUp,
    help: 'Health of each component as in /health (database, state_store, broker_stream): 1 up, 0 down or degraded',
    labelNames: ['component'],
    async collect(this: Gauge<'component'>) {
      const probe = componentProbeSource.get();
      const up = probe ? await probe() : {};
      this.reset();
      for (const [component, ok] of Object.entries(up)) this.set({ component }, ok ? 1 : 0);
    },
  }),
  makeGaugeProvider({
    name: SCRAPE_METRIC.outboxBacklog,
    help: 'Order events written to the outbox and not yet published to orders.events',
    async collect(this: Gauge) {
      const b = await readBacklog();
      this.reset();
      if (b) this.set(b.count);
    },
  }),
  makeGaugeProvider({
    name: SCRAPE_METRIC.outboxOldestAge,
    help: 'Age in seconds of the oldest unpublished order event (0 when none)',
    async collect(this: Gauge) {
      const b = await readBacklog();
      this.reset();
      if (b) this.set(b.oldestAgeSeconds);
    },
  }),
];
