/** Shared by the sim broker's specs (test code only). */
import { ManualClock } from '../../infra/clock/clock';
import { BrokerError, type BrokerOrderRequest, type OrderUpdate } from '../broker-client.port';
import { SimBrokerClient } from './sim-broker.client';
import type { SimBrokerOptions } from './sim-options';

export function makeSim(overrides: Partial<SimBrokerOptions> = {}): { sim: SimBrokerClient; clock: ManualClock } {
  const clock = new ManualClock(new Date('2026-01-05T15:00:00.000Z'));
  let n = 0;
  const sim = new SimBrokerClient({
    clock,
    referencePrices: { AAPL: '100', MSFT: '400' },
    idFactory: () => `id-${++n}`,
    ...overrides,
  });
  return { sim, clock };
}

let coid = 0;
export function order(overrides: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest {
  coid += 1;
  return {
    clientOrderId: `c-${coid}`,
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    type: 'market',
    timeInForce: 'day',
    limitPrice: null,
    stopPrice: null,
    ...overrides,
  };
}

export interface Recorder {
  updates: OrderUpdate[];
  log: string[];
}

export async function record(sim: SimBrokerClient): Promise<Recorder> {
  const recorder: Recorder = { updates: [], log: [] };
  await sim.connect({
    onUpdate: (u) => {
      recorder.updates.push(u);
      recorder.log.push(`${u.event}:${u.order.clientOrderId}`);
    },
    onConnected: (reconnect) => {
      recorder.log.push(`connected:${reconnect}`);
    },
  });
  return recorder;
}

export async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
}
