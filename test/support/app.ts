import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { BrokerClient } from '../../src/broker/broker-client.port';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { Clock } from '../../src/infra/clock/clock';
import { Scheduler } from '../../src/infra/clock/scheduler';
import { ReconciliationGateService } from '../../src/reconciliation/reconciliation-gate.service';
import { createDataSource } from '../../src/infra/database/data-source';
import { MarketDataProvider } from '../../src/market-data/market-data.port';
import { createTestDatabase, TestDatabase } from './database';
import { deleteRedisKeys, TEST_KEY_ROOT, TEST_REDIS_URL, testRedisPrefix } from './redis-keys';

export { TEST_REDIS_URL };
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** A supertest client bound to the running server. */
  http: ReturnType<typeof request>;
  baseUrl: string;
  /** A separate connection for assertions on what was written. */
  db: DataSource;
  database: TestDatabase;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Replaces the configured broker adapter. */
  broker?: BrokerClient;
  /** Replaces the configured market data adapter (e.g. a SimMarketDataProvider a test controls). */
  marketData?: MarketDataProvider;
  /** The timer of the sim's price walk (BROKER=sim): a ManualScheduler steps prices without waiting. */
  simWalkScheduler?: Scheduler;
  /** Reuse a database (e.g. a second replica or a restart); default: a fresh copy of the template. */
  database?: TestDatabase;
  /**
   * Wait until the reconciliation gate is open before answering (default true), so
   * tests about other things can add exposure at once. False for tests of the gate.
   */
  waitForGate?: boolean;
}

/**
 * One key prefix per database: apps on one database are replicas of one
 * deployment, and share its keys and its pub/sub channels (the prefix is on
 * both); apps on different databases are different deployments.
 */
const prefixOfDatabase = new WeakMap<TestDatabase, string>();

/** Boots the real application on a random port against real PostgreSQL and Redis. */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const database = opts.database ?? (await createTestDatabase());
  let prefix = prefixOfDatabase.get(database);
  if (prefix === undefined) {
    prefix = testRedisPrefix();
    prefixOfDatabase.set(database, prefix);
  }
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    // Tests that provoke errors on purpose print nothing; TEST_LOG=1 shows the logs.
    LOG_LEVEL: process.env.TEST_LOG === '1' ? 'debug' : 'silent',
    // Tests read log lines as JSON, terminal or not.
    LOG_FORMAT: 'json',
    // A generated bootstrap key is never written into the checkout.
    BOOTSTRAP_KEY_FILE: join(tmpdir(), `eg-test-bootstrap-key-${randomBytes(6).toString('hex')}`),
    DATABASE_POOL_SIZE: '10',
    PORT: '0',
    // Out of the way unless a test sets its own.
    ORDER_SUBMIT_RATE_LIMIT: '1000000',
    ORDER_SLICE_RATE_LIMIT: '1000000',
    ORDER_CANCEL_RATE_LIMIT: '1000000',
    AUTH_FAILURE_RATE_LIMIT: '1000000',
    FAT_FINGER_MAX_NOTIONAL: '1000000000000',
    FAT_FINGER_MAX_QTY: '1000000000',
    FAT_FINGER_MAX_ADV_PCT: '1',
    MAX_POSITION_SIZE: '1000000000',
    MAX_POSITION_PCT: '1',
    DAILY_LOSS_LIMIT: '1000000000000',
    MAX_DRAWDOWN_PCT: '1',
    MAX_OPEN_ORDERS_PER_STRATEGY: '1000000',
    CIRCUIT_BREAKER_BROKER_ERRORS: '1000000',
    BROKER_RATE_LIMIT_PER_MINUTE: '100000',
    RECONCILIATION_STARTUP_DELAY_SECONDS: '0',
    // Sim prices stay at 100 unless a test walks them (docs/simulator.md#tests).
    SIM_PRICE_VOLATILITY_BPS: '0',
    ...opts.env,
  });
  const app = await createApp(config, {
    clock: opts.clock,
    broker: opts.broker,
    marketData: opts.marketData,
    simWalkScheduler: opts.simWalkScheduler,
    leader: { intervalMs: 200 },
  });
  await app.listen(0, '127.0.0.1');
  if (opts.waitForGate !== false) await gateOpen(app);
  const baseUrl = await app.getUrl();
  const db = createDataSource({ url: database.url, poolSize: 2 });
  await db.initialize();
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    baseUrl,
    db,
    database,
    async close() {
      await app.close();
      await db.destroy();
      if (!opts.database) {
        await database.drop();
        // The deployment ends with its database: its Redis keys go too (replicas closed first).
        const own = config.redis.keyPrefix;
        if (own?.startsWith(TEST_KEY_ROOT)) await deleteRedisKeys(`${own}*`);
      }
    },
  };
}

/** The startup reconciliation runs on the leader (elected within ~200 ms in tests); a broker fake may slow it. */
async function gateOpen(app: NestExpressApplication, timeoutMs = 20_000): Promise<void> {
  const gate = app.get(ReconciliationGateService, { strict: false });
  const until = Date.now() + timeoutMs;
  while (!gate.current().open) {
    if (Date.now() > until) {
      throw new Error(`reconciliation gate still closed after ${timeoutMs} ms: ${gate.current().reason ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const auth = { Authorization: `Bearer ${TEST_ADMIN_KEY}` };
