import type { DataSource } from 'typeorm';
import type { BrokerClient } from '../broker/broker-client.port';
import type { AppConfig } from '../config/app-config';
import type { LeaderElection } from '../infra/leader/leader-election.service';
import type { StateStore } from '../infra/state/state-store';
import { ComponentHealthMetrics } from './component-health.metrics';

function probeWith(o: {
  db?: () => Promise<unknown>;
  ping?: () => Promise<unknown>;
  dryRun?: boolean;
  leader?: boolean;
  stream?: string;
}) {
  return new ComponentHealthMetrics(
    { query: o.db ?? (async () => [{ x: 1 }]) } as unknown as DataSource,
    { ping: o.ping ?? (async () => undefined) } as unknown as StateStore,
    { dryRun: o.dryRun ?? false } as AppConfig,
    { streamState: () => o.stream ?? 'connected' } as unknown as BrokerClient,
    { isLeader: () => o.leader ?? true } as unknown as LeaderElection,
  ).probe();
}

describe('ComponentHealthMetrics', () => {
  it('all up', async () => {
    expect(await probeWith({})).toEqual({ database: true, state_store: true, broker_stream: true });
  });

  it('a failing database or state store is down', async () => {
    const fail = () => Promise.reject(new Error('ECONNREFUSED'));
    expect(await probeWith({ db: fail })).toMatchObject({ database: false, state_store: true });
    expect(await probeWith({ ping: fail })).toMatchObject({ database: true, state_store: false });
  });

  it('a check that hangs is down after the timeout', async () => {
    jest.useFakeTimers();
    try {
      const result = probeWith({ db: () => new Promise(() => undefined) });
      await jest.advanceTimersByTimeAsync(2_001);
      expect(await result).toMatchObject({ database: false });
    } finally {
      jest.useRealTimers();
    }
  });

  it('the broker stream is down only on a live leader whose stream is not connected', async () => {
    expect((await probeWith({ stream: 'connecting' })).broker_stream).toBe(false);
    expect((await probeWith({ stream: 'connecting', leader: false })).broker_stream).toBe(true);
    expect((await probeWith({ stream: 'connecting', dryRun: true })).broker_stream).toBe(true);
  });
});
