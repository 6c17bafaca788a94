import { InitialSchema1763700000000 } from './1763700000000-initial-schema';
import { OrderLifecycle1763800000000 } from './1763800000000-order-lifecycle';
import { KillSwitch1763900000000 } from './1763900000000-kill-switch';
import { FatFinger1764000000000 } from './1764000000000-fat-finger';
import { CircuitBreaker1764100000000 } from './1764100000000-circuit-breaker';
import { Reconciliation1764200000000 } from './1764200000000-reconciliation';
import { ApiKeyManagement1764300000000 } from './1764300000000-api-key-management';
import { OpenOrderIndexes1764400000000 } from './1764400000000-open-order-indexes';
import { SimBook1764500000000 } from './1764500000000-sim-book';
import { Twap1764700000000 } from './1764700000000-twap';
import { Strategies1764800000000 } from './1764800000000-strategies';
import { OrderTypes1765000000000 } from './1765000000000-order-types';
import { OrderReplace1765100000000 } from './1765100000000-order-replace';
import { OrderClasses1765200000000 } from './1765200000000-order-classes';
import { ExposureCounters1765300000000 } from './1765300000000-exposure-counters';
import { StrategyDailyStats1765400000000 } from './1765400000000-strategy-daily-stats';
import { SimBookLookups1765510000000 } from './1765510000000-sim-book-lookups';
import { BlockedStrategyHalted1765600000000 } from './1765600000000-blocked-strategy-halted';
import { ExposureFastPath1765700000000 } from './1765700000000-exposure-fast-path';
import { GuardedInsertBatches1765800000000 } from './1765800000000-guarded-insert-batches';

/** Every migration, in order. Listed explicitly so source and compiled runs load the same set. */
export const MIGRATIONS = [
  InitialSchema1763700000000,
  OrderLifecycle1763800000000,
  KillSwitch1763900000000,
  FatFinger1764000000000,
  CircuitBreaker1764100000000,
  Reconciliation1764200000000,
  ApiKeyManagement1764300000000,
  OpenOrderIndexes1764400000000,
  SimBook1764500000000,
  Twap1764700000000,
  Strategies1764800000000,
  OrderTypes1765000000000,
  OrderReplace1765100000000,
  OrderClasses1765200000000,
  ExposureCounters1765300000000,
  StrategyDailyStats1765400000000,
  SimBookLookups1765510000000,
  BlockedStrategyHalted1765600000000,
  ExposureFastPath1765700000000,
  GuardedInsertBatches1765800000000,
];
