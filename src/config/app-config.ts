/**
 * Typed configuration, parsed and validated once at boot from the environment.
 *
 * Invariants enforced here (docs/architecture.md#paper-by-default, docs/configuration.md):
 * - a bad value stops the process with one message naming every bad variable;
 * - the gateway never starts against a live broker endpoint unless
 *   ALPACA_PAPER=false and ALLOW_LIVE_TRADING=true are both set;
 * - DRY_RUN defaults to true.
 */
import {
  parseAddressList,
  Parsed,
  parseBool,
  parseEnum,
  parseIdentifier,
  parseInteger,
  parseNonNegativeDecimal,
  parsePriceList,
  parsePositiveDecimal,
  parseUrl,
} from './env.parsers';

export const ENVIRONMENTS = ['development', 'dev', 'test', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** auto: pretty on a terminal outside production, JSON otherwise (src/infra/logging/log-format.ts). */
export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const BROKERS = ['alpaca', 'sim'] as const;
export type BrokerKind = (typeof BROKERS)[number];

export const ALPACA_PAPER_URL = 'https://paper-api.alpaca.markets';
export const ALPACA_LIVE_HOST = 'api.alpaca.markets';
export const ALPACA_DATA_URL = 'https://data.alpaca.markets';

export interface AppConfig {
  environment: Environment;
  isProduction: boolean;
  port: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Where a generated bootstrap admin key is written (mode 0600). */
  bootstrapKeyFile: string;
  /** Interface the HTTP server listens on; absent: every interface (Node's default). */
  host?: string;
  bodyLimitBytes: number;
  database: {
    /** Absent: an embedded PostgreSQL is started under `embeddedDir`. */
    url?: string;
    poolSize: number;
    embeddedDir: string;
    embeddedPort: number;
  };
  redis: {
    /** Absent: the in-process state store (single replica only). */
    url?: string;
    keyPrefix: string;
  };
  dryRun: boolean;
  strategyId: string;
  circuitBreakerEnabled: boolean;
  adminApiKey?: string;
  broker: {
    kind: BrokerKind;
    submitTimeoutMs: number;
    /** Trading calls allowed in any window, all replicas together (docs/broker-pacing.md). */
    rateLimitPerMinute: number;
    /** The window of that budget: 60 s, as the broker counts; shorter only in tests. */
    rateLimitWindowMs: number;
    alpaca: {
      keyId?: string;
      secretKey?: string;
      baseUrl: string;
      paper: boolean;
      allowLiveTrading: boolean;
      isLiveEndpoint: boolean;
      dataUrl: string;
      streamUrl: string;
    };
    /** The in-process paper exchange (BROKER=sim; docs/simulator.md). */
    sim: {
      priceSeed: string;
      /** Per-step σ of the price walk in basis points (decimal string); '0' keeps prices still. */
      priceVolatilityBps: string;
      priceStepMs: number;
      /** Starting prices by symbol; others start at 100. */
      initialPrices: Record<string, string>;
      /** Trading calls the sim allows in any sliding minute, else a 429 like Alpaca's; 0: no limit. */
      rateLimitPerMinute: number;
    };
  };
  webhookSecret?: string;
  fatFinger: {
    maxNotional: string;
    maxQty: string;
    maxAdvPct: string;
    maxPriceAgeSeconds: number;
  };
  maxSlicePctOfAdv: string;
  /** False: a TWAP plan is accepted when the symbol's ADV is unknown (docs/twap.md#liquidity). */
  liquidityCheckEnabled: boolean;
  /** Pre-trade risk limits (docs/risk-and-safety.md); decimals as strings. */
  riskLimits: {
    maxPositionSize: string;
    maxPositionPct: string;
    dailyLossLimit: string;
    maxDrawdownPct: string;
    maxOpenOrdersPerStrategy: number;
  };
  circuitBreaker: {
    /** Broker errors within the window that trip the breaker. */
    brokerErrorThreshold: number;
    brokerErrorWindowSeconds: number;
    /** Market data older than this (for a symbol with open exposure) trips the breaker. */
    staleMarketDataSeconds: number;
    /** How often the leader evaluates the automatic trip conditions. */
    checkIntervalSeconds: number;
  };
  marketData: {
    /** Cache TTL of latest trade/quote prices. */
    priceCacheMs: number;
    /** Cache TTL of average daily volume. */
    advCacheSeconds: number;
    /** Days of daily bars averaged into ADV. */
    advDays: number;
  };
  killSwitchCancelOnEngage: boolean;
  /** The per-symbol lock of close/adjust/flatten (docs/operator-controls.md). */
  reduceOnlyLock: {
    /** The lock's lifetime: a holder that dies frees it after this. */
    timeoutSeconds: number;
    /** How long a second close of the symbol waits for it before 409 POSITION_BUSY. */
    blockingSeconds: number;
  };
  reconciliation: {
    startupDelaySeconds: number;
    /** block: a position mismatch blocks new exposure in the symbol until resolved; report: finding only. */
    positionMismatchPolicy: 'block' | 'report';
    /** Overlap when paging fill activities, so late-arriving fills are not skipped. */
    fillsOverlapSeconds: number;
  };
  rateLimits: { submitPerMinute: number; slicePerMinute: number; cancelPerMinute: number };
  /** Failed authentications per client address and minute before 429 (docs/security.md#authentication-throttling). */
  authFailuresPerMinute: number;
  /** Proxies whose X-Forwarded-For is believed (addresses and CIDR ranges); empty: the socket address only. */
  trustedProxyHosts: string[];
  internalToken: { secret?: string; required: boolean; timestampToleranceSeconds: number };
  reconciliationIntervalSeconds: number;
  orderPollIntervalSeconds: number;
  sliceMisfireGraceSeconds: number;
  /** Strategies and P&L (docs/strategies-and-pnl.md). */
  strategies: {
    /** A strategy with an order or fill newer than this is `active`, else `idle`. */
    activityThresholdSeconds: number;
    /** How long GET /performance/daily answers from its cache. */
    performanceCacheTtlSeconds: number;
    /** The longest range GET /performance/daily accepts, in days. */
    maxPerformanceDays: number;
    /** false: GET /performance/daily answers 404 FEATURE_DISABLED. */
    performanceDashboard: boolean;
  };
  /** GET /api/v1/events (docs/security.md#event-streams). */
  eventStreams: {
    /** Open streams one API key may hold at once, across replicas. */
    maxPerKey: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ variable: string; problem: string }>) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.variable}: ${p.problem}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses `env` (normally `process.env`) into an AppConfig or throws ConfigError. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: Array<{ variable: string; problem: string }> = [];
  const present = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  function read<T>(name: string, fallback: T, parse: (raw: string) => Parsed<T>): T {
    const raw = present(name);
    if (raw === undefined) return fallback;
    const r = parse(raw);
    if (r.ok) return r.value;
    problems.push({ variable: name, problem: r.error });
    return fallback;
  }
  const bool = (name: string, fallback: boolean) => read(name, fallback, parseBool);
  const int = (name: string, fallback: number, min: number, max: number) =>
    read(name, fallback, (raw) => parseInteger(raw, min, max));
  const decimal = (name: string, fallback: string, max?: string) =>
    read(name, fallback, (raw) => parsePositiveDecimal(raw, max));
  const url = (name: string, protocols: string[]) =>
    read<string | undefined>(name, undefined, (raw) => parseUrl(raw, protocols));
  const secret = (name: string, minLength: number) =>
    read<string | undefined>(name, undefined, (raw) =>
      raw.length >= minLength
        ? { ok: true, value: raw }
        : { ok: false, error: `must be at least ${minLength} characters` },
    );

  const environment = read<Environment>('ENVIRONMENT', 'development', (raw) => parseEnum(raw, ENVIRONMENTS));
  const isProduction = environment === 'production';

  // --- storage -------------------------------------------------------------
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  let redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  if (!redisUrl && present('REDIS_HOST')) {
    const host = present('REDIS_HOST')!.trim();
    const port = int('REDIS_PORT', 6379, 1, 65535);
    const db = int('REDIS_DB', 0, 0, 15);
    const password = present('REDIS_PASSWORD');
    const auth = password ? `:${encodeURIComponent(password)}@` : '';
    redisUrl = `redis://${auth}${host}:${port}/${db}`;
  }
  if (bool('REDIS_AUTH_REQUIRED', false) && redisUrl && !/\/\/[^@/]*@/.test(redisUrl)) {
    problems.push({
      variable: 'REDIS_AUTH_REQUIRED',
      problem: 'is true but neither REDIS_URL nor REDIS_PASSWORD carries credentials',
    });
  }

  // --- broker and the paper guard ----------------------------------------
  const keyId = present('ALPACA_API_KEY_ID');
  const secretKey = present('ALPACA_API_SECRET_KEY');
  if (!!keyId !== !!secretKey) {
    problems.push({
      variable: keyId ? 'ALPACA_API_SECRET_KEY' : 'ALPACA_API_KEY_ID',
      problem: 'ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY must be set together',
    });
  }
  const brokerKind = read<BrokerKind>('BROKER', keyId && secretKey ? 'alpaca' : 'sim', (raw) =>
    parseEnum(raw, BROKERS),
  );
  if (brokerKind === 'alpaca' && !(keyId && secretKey)) {
    problems.push({
      variable: 'BROKER',
      problem: 'is alpaca but ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY are not set',
    });
  }
  const baseUrl = url('ALPACA_BASE_URL', ['http:', 'https:']) ?? ALPACA_PAPER_URL;
  const paper = bool('ALPACA_PAPER', true);
  const allowLiveTrading = bool('ALLOW_LIVE_TRADING', false);
  const isLiveEndpoint = safeHost(baseUrl) === ALPACA_LIVE_HOST;
  // The paper guard holds whichever broker is selected (docs/architecture.md#paper-by-default, docs/configuration.md#paper-trading-guard).
  if (isLiveEndpoint && paper) {
    problems.push({
      variable: 'ALPACA_PAPER',
      problem: `is true but ALPACA_BASE_URL points at the live host ${ALPACA_LIVE_HOST}; refusing to start (set ALPACA_PAPER=false and ALLOW_LIVE_TRADING=true to trade live)`,
    });
  }
  if (!paper && !allowLiveTrading) {
    problems.push({
      variable: 'ALLOW_LIVE_TRADING',
      problem: 'ALPACA_PAPER=false requests live trading; refusing to start unless ALLOW_LIVE_TRADING=true is also set',
    });
  }
  const streamUrl = url('ALPACA_STREAM_URL', ['ws:', 'wss:']) ?? baseUrl.replace(/^http/, 'ws') + '/stream';
  const dataUrl = url('ALPACA_DATA_URL', ['http:', 'https:']) ?? ALPACA_DATA_URL;

  const dryRun = bool('DRY_RUN', true);

  const config: AppConfig = {
    environment,
    isProduction,
    port: int('PORT', 8002, 0, 65535),
    logLevel: read<LogLevel>('LOG_LEVEL', 'info', (raw) => parseEnum(raw, LOG_LEVELS)),
    logFormat: read<LogFormat>('LOG_FORMAT', 'auto', (raw) => parseEnum(raw, LOG_FORMATS)),
    host: present('HOST')?.trim(),
    bootstrapKeyFile: present('BOOTSTRAP_KEY_FILE') ?? './.data/bootstrap-key',
    bodyLimitBytes: int('HTTP_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    database: {
      url: databaseUrl,
      poolSize: int('DATABASE_POOL_SIZE', 20, 2, 500),
      embeddedDir: present('EMBEDDED_PG_DIR') ?? './.data/postgres',
      embeddedPort: int('EMBEDDED_PG_PORT', 54329, 1, 65535),
    },
    redis: {
      url: redisUrl,
      keyPrefix: present('REDIS_KEY_PREFIX') ?? 'eg:',
    },
    dryRun,
    strategyId: read('STRATEGY_ID', 'alpha_baseline', parseIdentifier),
    circuitBreakerEnabled: bool('CIRCUIT_BREAKER_ENABLED', true),
    adminApiKey: secret('ADMIN_API_KEY', 16),
    broker: {
      kind: brokerKind,
      submitTimeoutMs: int('BROKER_SUBMIT_TIMEOUT_MS', 10_000, 100, 120_000),
      rateLimitPerMinute: int('BROKER_RATE_LIMIT_PER_MINUTE', 200, 1, 10_000_000),
      rateLimitWindowMs: int('BROKER_RATE_LIMIT_WINDOW_MS', 60_000, 100, 3_600_000),
      alpaca: {
        keyId,
        secretKey,
        baseUrl,
        paper,
        allowLiveTrading,
        isLiveEndpoint,
        dataUrl,
        streamUrl,
      },
      sim: {
        priceSeed: read('SIM_PRICE_SEED', 'sim', parseIdentifier),
        priceVolatilityBps: read('SIM_PRICE_VOLATILITY_BPS', '5', (raw) => parseNonNegativeDecimal(raw, '1000')),
        priceStepMs: int('SIM_PRICE_STEP_MS', 1000, 10, 3_600_000),
        initialPrices: read<Record<string, string>>('SIM_INITIAL_PRICES', {}, parsePriceList),
        rateLimitPerMinute: int('SIM_RATE_LIMIT_PER_MINUTE', 0, 0, 10_000_000),
      },
    },
    webhookSecret: secret('WEBHOOK_SECRET', 16),
    fatFinger: {
      maxNotional: decimal('FAT_FINGER_MAX_NOTIONAL', '100000'),
      maxQty: decimal('FAT_FINGER_MAX_QTY', '10000'),
      maxAdvPct: decimal('FAT_FINGER_MAX_ADV_PCT', '0.05', '1'),
      maxPriceAgeSeconds: int('FAT_FINGER_MAX_PRICE_AGE_SECONDS', 30, 1, 86_400),
    },
    maxSlicePctOfAdv: decimal('MAX_SLICE_PCT_OF_ADV', '0.01', '1'),
    liquidityCheckEnabled: bool('LIQUIDITY_CHECK_ENABLED', true),
    riskLimits: {
      maxPositionSize: decimal('MAX_POSITION_SIZE', '1000'),
      maxPositionPct: decimal('MAX_POSITION_PCT', '0.20', '1'),
      dailyLossLimit: decimal('DAILY_LOSS_LIMIT', '5000'),
      maxDrawdownPct: decimal('MAX_DRAWDOWN_PCT', '0.10', '1'),
      maxOpenOrdersPerStrategy: int('MAX_OPEN_ORDERS_PER_STRATEGY', 100, 1, 1_000_000),
    },
    circuitBreaker: {
      brokerErrorThreshold: int('CIRCUIT_BREAKER_BROKER_ERRORS', 10, 1, 1_000_000),
      brokerErrorWindowSeconds: int('CIRCUIT_BREAKER_BROKER_ERROR_WINDOW_SECONDS', 60, 1, 86_400),
      staleMarketDataSeconds: int('CIRCUIT_BREAKER_STALE_DATA_SECONDS', 300, 1, 86_400),
      checkIntervalSeconds: int('CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS', 5, 1, 3600),
    },
    marketData: {
      priceCacheMs: int('MARKET_DATA_PRICE_CACHE_MS', 1000, 0, 60_000),
      advCacheSeconds: int('MARKET_DATA_ADV_CACHE_SECONDS', 3600, 0, 86_400),
      advDays: int('MARKET_DATA_ADV_DAYS', 20, 1, 250),
    },
    killSwitchCancelOnEngage: bool('KILL_SWITCH_CANCEL_ON_ENGAGE', false),
    reduceOnlyLock: {
      timeoutSeconds: int('REDUCE_ONLY_LOCK_TIMEOUT_SECONDS', 30, 1, 3600),
      blockingSeconds: int('REDUCE_ONLY_LOCK_BLOCKING_SECONDS', 5, 0, 600),
    },
    reconciliation: {
      startupDelaySeconds: int('RECONCILIATION_STARTUP_DELAY_SECONDS', 2, 0, 3600),
      positionMismatchPolicy: read<'block' | 'report'>('RECONCILIATION_POSITION_MISMATCH_POLICY', 'block', (raw) =>
        parseEnum(raw, ['block', 'report'] as const),
      ),
      fillsOverlapSeconds: int('RECONCILIATION_FILLS_OVERLAP_SECONDS', 300, 0, 86_400),
    },
    rateLimits: {
      submitPerMinute: int('ORDER_SUBMIT_RATE_LIMIT', 40, 1, 1_000_000),
      slicePerMinute: int('ORDER_SLICE_RATE_LIMIT', 10, 1, 1_000_000),
      cancelPerMinute: int('ORDER_CANCEL_RATE_LIMIT', 100, 1, 1_000_000),
    },
    authFailuresPerMinute: int('AUTH_FAILURE_RATE_LIMIT', 20, 1, 1_000_000),
    trustedProxyHosts: read<string[]>('TRUSTED_PROXY_HOSTS', [], parseAddressList),
    internalToken: {
      secret: secret('INTERNAL_TOKEN_SECRET', 16),
      required: bool('INTERNAL_TOKEN_REQUIRED', true),
      timestampToleranceSeconds: int('INTERNAL_TOKEN_TIMESTAMP_TOLERANCE_SECONDS', 300, 1, 3600),
    },
    reconciliationIntervalSeconds: int('RECONCILIATION_INTERVAL_SECONDS', 60, 1, 86_400),
    orderPollIntervalSeconds: int('ORDER_POLL_INTERVAL_SECONDS', 5, 1, 3600),
    sliceMisfireGraceSeconds: int('SLICE_MISFIRE_GRACE_SECONDS', 60, 0, 86_400),
    strategies: {
      activityThresholdSeconds: int('STRATEGY_ACTIVITY_THRESHOLD_SECONDS', 86_400, 1, 31_536_000),
      performanceCacheTtlSeconds: int('PERFORMANCE_CACHE_TTL', 60, 0, 86_400),
      maxPerformanceDays: int('MAX_PERFORMANCE_DAYS', 90, 1, 3660),
      performanceDashboard: bool('FEATURE_PERFORMANCE_DASHBOARD', true),
    },
    eventStreams: {
      maxPerKey: int('SSE_MAX_STREAMS_PER_KEY', 5, 1, 1_000),
    },
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function safeHost(u: string): string | undefined {
  try {
    // `api.alpaca.markets.` (fully qualified, trailing dot) reaches the same live host.
    return new URL(u).hostname.toLowerCase().replace(/\.+$/, '');
  } catch {
    return undefined;
  }
}

/** DI token for the validated AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
