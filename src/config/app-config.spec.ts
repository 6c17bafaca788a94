import { ALPACA_DATA_URL, ALPACA_PAPER_URL, AppConfig, ConfigError, loadConfig } from './app-config';

type Env = Record<string, string | undefined>;

const KEYS = { ALPACA_API_KEY_ID: 'PKTESTKEYID', ALPACA_API_SECRET_KEY: 'test-secret-key-value' };
const LIVE_URL = 'https://api.alpaca.markets';

function configError(env: Env): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return caught as ConfigError;
}

const variables = (e: ConfigError): string[] => [...new Set(e.problems.map((p) => p.variable))].sort();

describe('loadConfig (docs/architecture.md#paper-by-default, docs/configuration.md)', () => {
  describe('defaults', () => {
    let config: AppConfig;
    beforeAll(() => {
      config = loadConfig({});
    });

    it('serves on 8002 in development with info logs', () => {
      expect(config.port).toBe(8002);
      expect(config.environment).toBe('development');
      expect(config.isProduction).toBe(false);
      expect(config.logLevel).toBe('info');
    });

    it('is dry-run and paper, on the sim broker', () => {
      expect(config.dryRun).toBe(true);
      expect(config.broker.kind).toBe('sim');
      expect(config.broker.submitTimeoutMs).toBe(10_000);
      expect(config.broker.alpaca).toMatchObject({
        paper: true,
        allowLiveTrading: false,
        isLiveEndpoint: false,
        baseUrl: ALPACA_PAPER_URL,
        dataUrl: ALPACA_DATA_URL,
        streamUrl: 'wss://paper-api.alpaca.markets/stream',
      });
      expect(config.broker.alpaca.keyId).toBeUndefined();
      expect(config.broker.alpaca.secretKey).toBeUndefined();
    });

    it('uses the seed strategy and safety defaults', () => {
      expect(config.strategyId).toBe('alpha_baseline');
      expect(config.circuitBreakerEnabled).toBe(true);
      expect(config.fatFinger).toEqual({
        maxNotional: '100000',
        maxQty: '10000',
        maxAdvPct: '0.05',
        maxPriceAgeSeconds: 30,
      });
      expect(config.rateLimits).toEqual({ submitPerMinute: 40, slicePerMinute: 10, cancelPerMinute: 100 });
      expect(config.reconciliationIntervalSeconds).toBe(60);
      expect(config.orderPollIntervalSeconds).toBe(5);
      expect(config.sliceMisfireGraceSeconds).toBe(60);
      expect(config.eventStreams).toEqual({ maxPerKey: 5 });
      expect(Object.values(config.strategies)).toEqual([86_400, 60, 90, true]);
    });

    it('has no external database or redis (embedded defaults)', () => {
      expect(config.database.url).toBeUndefined();
      expect(config.redis.url).toBeUndefined();
    });

    it('has no secrets', () => {
      expect(config.adminApiKey).toBeUndefined();
      expect(config.webhookSecret).toBeUndefined();
      expect(config.internalToken.secret).toBeUndefined();
    });

    it('treats blank variables as absent', () => {
      expect(loadConfig({ PORT: '', DRY_RUN: '   ', DATABASE_URL: '' })).toEqual(config);
    });
  });

  describe('parsing', () => {
    it('reads the documented variables', () => {
      const config = loadConfig({
        PORT: '9000',
        ENVIRONMENT: 'production',
        STRATEGY_ID: 'momo_v2',
        CIRCUIT_BREAKER_ENABLED: 'false',
        DATABASE_URL: 'postgres://u:p@db:5432/eg',
        REDIS_URL: 'redis://cache:6379/1',
        FAT_FINGER_MAX_NOTIONAL: '250000.50',
        FAT_FINGER_MAX_QTY: '500',
        FAT_FINGER_MAX_ADV_PCT: '0.10',
        FAT_FINGER_MAX_PRICE_AGE_SECONDS: '15',
        ORDER_SUBMIT_RATE_LIMIT: '5',
        ORDER_SLICE_RATE_LIMIT: '6',
        ORDER_CANCEL_RATE_LIMIT: '7',
        RECONCILIATION_INTERVAL_SECONDS: '120',
        ORDER_POLL_INTERVAL_SECONDS: '2',
        SLICE_MISFIRE_GRACE_SECONDS: '0',
        SSE_MAX_STREAMS_PER_KEY: '2',
      });
      expect(config.port).toBe(9000);
      expect(config.isProduction).toBe(true);
      expect(config.strategyId).toBe('momo_v2');
      expect(config.circuitBreakerEnabled).toBe(false);
      expect(config.database.url).toBe('postgres://u:p@db:5432/eg');
      expect(config.redis.url).toBe('redis://cache:6379/1');
      expect(config.fatFinger).toEqual({
        maxNotional: '250000.5',
        maxQty: '500',
        maxAdvPct: '0.1',
        maxPriceAgeSeconds: 15,
      });
      expect(config.rateLimits).toEqual({ submitPerMinute: 5, slicePerMinute: 6, cancelPerMinute: 7 });
      expect(config.reconciliationIntervalSeconds).toBe(120);
      expect(config.orderPollIntervalSeconds).toBe(2);
      expect(config.sliceMisfireGraceSeconds).toBe(0);
      expect(config.eventStreams).toEqual({ maxPerKey: 2 });
    });

    it.each(['true', 'TRUE', '1', 'yes', 'on'])('boolean %p is true', (raw) => {
      expect(loadConfig({ CIRCUIT_BREAKER_ENABLED: 'false', ALLOW_LIVE_TRADING: raw }).broker.alpaca).toMatchObject({
        allowLiveTrading: true,
      });
    });

    it.each(['false', 'False', '0', 'no', 'off'])('boolean %p is false', (raw) => {
      expect(loadConfig({ CIRCUIT_BREAKER_ENABLED: raw }).circuitBreakerEnabled).toBe(false);
    });
  });

  describe('bad configuration names every bad variable at once', () => {
    it('several bad variables → one ConfigError naming each', () => {
      const e = configError({
        PORT: 'abc',
        DRY_RUN: 'maybe',
        FAT_FINGER_MAX_QTY: '-1',
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'nope',
      });
      expect(variables(e)).toEqual(['DATABASE_URL', 'DRY_RUN', 'FAT_FINGER_MAX_QTY', 'PORT', 'REDIS_URL']);
      for (const name of ['PORT', 'DRY_RUN', 'FAT_FINGER_MAX_QTY', 'DATABASE_URL', 'REDIS_URL']) {
        expect(e.message).toContain(name);
      }
      expect(e.message).toMatch(/^Invalid configuration \(5 problems\)/);
      expect(e.name).toBe('ConfigError');
    });

    it.each<[string, string]>([
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['ENVIRONMENT', 'prod-ish'],
      ['LOG_LEVEL', 'verbose'],
      ['BROKER', 'ibkr'],
      ['STRATEGY_ID', 'has space'],
      ['FAT_FINGER_MAX_NOTIONAL', '0'],
      ['FAT_FINGER_MAX_NOTIONAL', '1e6'],
      ['FAT_FINGER_MAX_ADV_PCT', '1.5'],
      ['MAX_SLICE_PCT_OF_ADV', '2'],
      ['ORDER_SUBMIT_RATE_LIMIT', '0'],
      ['RECONCILIATION_INTERVAL_SECONDS', 'soon'],
      ['ORDER_POLL_INTERVAL_SECONDS', '0'],
      ['SLICE_MISFIRE_GRACE_SECONDS', '-5'],
      ['SSE_MAX_STREAMS_PER_KEY', '0'],
      ['SSE_MAX_STREAMS_PER_KEY', 'many'],
      ['ALPACA_BASE_URL', 'ftp://paper-api.alpaca.markets'],
      ['ALPACA_STREAM_URL', 'https://stream.example'],
      ['ALPACA_DATA_URL', 'not a url'],
      ['WEBHOOK_SECRET', 'short'],
      ['ADMIN_API_KEY', 'short'],
      ['INTERNAL_TOKEN_SECRET', 'short'],
      ['CIRCUIT_BREAKER_ENABLED', 'perhaps'],
    ])('%s=%p is named', (name, value) => {
      const e = configError({ [name]: value });
      expect(variables(e)).toEqual([name]);
      expect(e.message).toContain(name);
    });

    it('the message does not echo secret values', () => {
      const e = configError({ WEBHOOK_SECRET: 'tiny-secret' });
      expect(e.message).not.toContain('tiny-secret');
    });
  });

  describe('the paper guard (docs/architecture.md#paper-by-default, docs/configuration.md#paper-trading-guard)', () => {
    it('Alpaca keys with the default (paper) URL start on the paper endpoint', () => {
      const config = loadConfig({ ...KEYS });
      expect(config.broker.kind).toBe('alpaca');
      expect(config.broker.alpaca).toMatchObject({
        keyId: KEYS.ALPACA_API_KEY_ID,
        secretKey: KEYS.ALPACA_API_SECRET_KEY,
        baseUrl: ALPACA_PAPER_URL,
        paper: true,
        isLiveEndpoint: false,
      });
    });

    it('the live host with the default ALPACA_PAPER=true is refused naming ALPACA_PAPER', () => {
      const e = configError({ ...KEYS, ALPACA_BASE_URL: LIVE_URL });
      expect(variables(e)).toContain('ALPACA_PAPER');
      expect(e.message).toContain('ALPACA_PAPER');
    });

    it('the live host with ALPACA_PAPER=true set explicitly is refused', () => {
      expect(variables(configError({ ...KEYS, ALPACA_BASE_URL: LIVE_URL, ALPACA_PAPER: 'true' }))).toContain(
        'ALPACA_PAPER',
      );
    });

    it.each([
      'https://API.ALPACA.MARKETS',
      'https://api.alpaca.markets/',
      'https://api.alpaca.markets:443',
      'https://api.alpaca.markets/v2',
      'http://api.alpaca.markets',
    ])('%s counts as the live host', (url) => {
      expect(variables(configError({ ...KEYS, ALPACA_BASE_URL: url }))).toContain('ALPACA_PAPER');
    });

    it('a fully-qualified live host name with a trailing dot counts as the live host', () => {
      // "api.alpaca.markets." resolves to, and presents a valid certificate for, the live host.
      expect(variables(configError({ ...KEYS, ALPACA_BASE_URL: 'https://api.alpaca.markets.' }))).toContain(
        'ALPACA_PAPER',
      );
    });

    it('ALPACA_PAPER=false without ALLOW_LIVE_TRADING is refused naming ALLOW_LIVE_TRADING (paper host)', () => {
      const e = configError({ ...KEYS, ALPACA_PAPER: 'false' });
      expect(variables(e)).toEqual(['ALLOW_LIVE_TRADING']);
      expect(e.message).toContain('ALLOW_LIVE_TRADING');
    });

    it('ALPACA_PAPER=false without ALLOW_LIVE_TRADING is refused on the live host too', () => {
      const e = configError({ ...KEYS, ALPACA_BASE_URL: LIVE_URL, ALPACA_PAPER: 'false' });
      expect(variables(e)).toEqual(['ALLOW_LIVE_TRADING']);
    });

    it('ALPACA_PAPER=false with ALLOW_LIVE_TRADING=false is refused', () => {
      const e = configError({ ...KEYS, ALPACA_BASE_URL: LIVE_URL, ALPACA_PAPER: 'false', ALLOW_LIVE_TRADING: 'false' });
      expect(variables(e)).toEqual(['ALLOW_LIVE_TRADING']);
    });

    it('ALPACA_PAPER=false and ALLOW_LIVE_TRADING=true on the live host is accepted (DRY_RUN stays true)', () => {
      const config = loadConfig({
        ...KEYS,
        ALPACA_BASE_URL: LIVE_URL,
        ALPACA_PAPER: 'false',
        ALLOW_LIVE_TRADING: 'true',
      });
      expect(config.broker.kind).toBe('alpaca');
      expect(config.broker.alpaca).toMatchObject({
        baseUrl: LIVE_URL,
        paper: false,
        allowLiveTrading: true,
        isLiveEndpoint: true,
        streamUrl: 'wss://api.alpaca.markets/stream',
      });
      expect(config.dryRun).toBe(true);
    });

    it('live data and stream URLs do not count as live', () => {
      const config = loadConfig({
        ...KEYS,
        ALPACA_DATA_URL: 'https://data.alpaca.markets',
        ALPACA_STREAM_URL: 'wss://api.alpaca.markets/stream',
      });
      expect(config.broker.alpaca.isLiveEndpoint).toBe(false);
      expect(config.broker.alpaca.streamUrl).toBe('wss://api.alpaca.markets/stream');
    });

    it('DRY_RUN=false is accepted (orders then go to the broker, sim by default)', () => {
      const config = loadConfig({ DRY_RUN: 'false' });
      expect(config.dryRun).toBe(false);
      expect(config.broker.kind).toBe('sim');
    });

    it('the paper guard and other problems are reported together', () => {
      const e = configError({ ...KEYS, ALPACA_BASE_URL: LIVE_URL, PORT: 'x', ORDER_POLL_INTERVAL_SECONDS: '0' });
      expect(variables(e)).toEqual(['ALPACA_PAPER', 'ORDER_POLL_INTERVAL_SECONDS', 'PORT']);
    });
  });

  describe('broker selection and credentials', () => {
    it('only the key id set → ALPACA_API_SECRET_KEY named', () => {
      expect(variables(configError({ ALPACA_API_KEY_ID: KEYS.ALPACA_API_KEY_ID }))).toEqual(['ALPACA_API_SECRET_KEY']);
    });

    it('only the secret set → ALPACA_API_KEY_ID named', () => {
      expect(variables(configError({ ALPACA_API_SECRET_KEY: KEYS.ALPACA_API_SECRET_KEY }))).toEqual([
        'ALPACA_API_KEY_ID',
      ]);
    });

    it('BROKER=alpaca without keys → BROKER named', () => {
      const e = configError({ BROKER: 'alpaca' });
      expect(variables(e)).toEqual(['BROKER']);
      expect(e.message).toContain('ALPACA_API_KEY_ID');
    });

    it('BROKER=alpaca with half the keys names both problems', () => {
      expect(variables(configError({ BROKER: 'alpaca', ALPACA_API_KEY_ID: 'x' }))).toEqual([
        'ALPACA_API_SECRET_KEY',
        'BROKER',
      ]);
    });

    it('BROKER defaults to alpaca with keys and sim without; BROKER=sim wins over keys', () => {
      expect(loadConfig({ ...KEYS }).broker.kind).toBe('alpaca');
      expect(loadConfig({}).broker.kind).toBe('sim');
      expect(loadConfig({ ...KEYS, BROKER: 'sim' }).broker.kind).toBe('sim');
      expect(loadConfig({ ...KEYS, BROKER: 'ALPACA' }).broker.kind).toBe('alpaca');
    });
  });

  describe('redis', () => {
    it('REDIS_HOST alone builds redis://host:6379/0', () => {
      expect(loadConfig({ REDIS_HOST: 'cache' }).redis.url).toBe('redis://cache:6379/0');
    });

    it('REDIS_HOST, REDIS_PORT and REDIS_DB build the URL', () => {
      expect(loadConfig({ REDIS_HOST: ' cache.internal ', REDIS_PORT: '6380', REDIS_DB: '3' }).redis.url).toBe(
        'redis://cache.internal:6380/3',
      );
    });

    it('REDIS_PASSWORD is URL-encoded into the URL', () => {
      expect(loadConfig({ REDIS_HOST: 'cache', REDIS_PASSWORD: 'p@ss/word' }).redis.url).toBe(
        'redis://:p%40ss%2Fword@cache:6379/0',
      );
    });

    it('REDIS_URL wins over REDIS_HOST', () => {
      expect(loadConfig({ REDIS_URL: 'rediss://secure:6379', REDIS_HOST: 'cache' }).redis.url).toBe(
        'rediss://secure:6379',
      );
    });

    it('bad REDIS_PORT and REDIS_DB are named', () => {
      expect(variables(configError({ REDIS_HOST: 'cache', REDIS_PORT: '0', REDIS_DB: '16' }))).toEqual([
        'REDIS_DB',
        'REDIS_PORT',
      ]);
    });

    it('REDIS_AUTH_REQUIRED without credentials is named', () => {
      expect(variables(configError({ REDIS_HOST: 'cache', REDIS_AUTH_REQUIRED: 'true' }))).toEqual([
        'REDIS_AUTH_REQUIRED',
      ]);
      expect(
        loadConfig({ REDIS_HOST: 'cache', REDIS_PASSWORD: 'pw', REDIS_AUTH_REQUIRED: 'true' }).redis.url,
      ).toBeDefined();
    });
  });

  describe('derived URLs', () => {
    it.each<[string, string]>([
      ['https://paper-api.alpaca.markets', 'wss://paper-api.alpaca.markets/stream'],
      ['https://paper-api.alpaca.markets/', 'wss://paper-api.alpaca.markets/stream'],
      ['http://127.0.0.1:9999', 'ws://127.0.0.1:9999/stream'],
    ])('ALPACA_BASE_URL %s → stream %s', (baseUrl, streamUrl) => {
      const config = loadConfig({ ...KEYS, ALPACA_BASE_URL: baseUrl });
      expect(config.broker.alpaca.streamUrl).toBe(streamUrl);
      expect(config.broker.alpaca.baseUrl).toBe(baseUrl.replace(/\/+$/, ''));
    });

    it('ALPACA_STREAM_URL overrides the derived one', () => {
      expect(loadConfig({ ...KEYS, ALPACA_STREAM_URL: 'ws://127.0.0.1:7777/custom' }).broker.alpaca.streamUrl).toBe(
        'ws://127.0.0.1:7777/custom',
      );
    });
  });
});

describe('authentication throttling variables (docs/security.md#authentication-throttling)', () => {
  it('defaults: 20 misses a minute, no trusted proxy', () => {
    const c = loadConfig({});
    expect(c.authFailuresPerMinute).toBe(20);
    expect(c.trustedProxyHosts).toEqual([]);
  });

  it('reads a comma list of addresses and CIDR ranges', () => {
    expect(loadConfig({ TRUSTED_PROXY_HOSTS: ' 10.0.0.0/8, ::1 ,192.168.1.1,' }).trustedProxyHosts).toEqual([
      '10.0.0.0/8',
      '::1',
      '192.168.1.1',
    ]);
  });

  it.each(['proxy.local', '10.0.0.0/33', '::1/129', '10.0.0.1/8/1', '10.0.0.0/x'])(
    'refuses TRUSTED_PROXY_HOSTS=%s',
    (v) => {
      expect(() => loadConfig({ TRUSTED_PROXY_HOSTS: v })).toThrow(/TRUSTED_PROXY_HOSTS/);
    },
  );

  it('refuses AUTH_FAILURE_RATE_LIMIT=0', () => {
    expect(() => loadConfig({ AUTH_FAILURE_RATE_LIMIT: '0' })).toThrow(/AUTH_FAILURE_RATE_LIMIT/);
  });
});

describe('simulator variables (docs/simulator.md)', () => {
  it('defaults: a walk of 5 bps a second, seed "sim", every symbol at 100', () => {
    expect(loadConfig({}).broker.sim).toEqual({
      priceSeed: 'sim',
      priceVolatilityBps: '5',
      priceStepMs: 1000,
      initialPrices: {},
      rateLimitPerMinute: 0,
    });
  });

  it('parses starting prices exactly, upper-cases symbols, and accepts volatility 0', () => {
    const sim = loadConfig({
      SIM_INITIAL_PRICES: ' aapl=190.50, MSFT = 410 ,BRK.B=0.0001',
      SIM_PRICE_VOLATILITY_BPS: '0',
      SIM_PRICE_SEED: 'practice-1',
      SIM_PRICE_STEP_MS: '250',
      SIM_RATE_LIMIT_PER_MINUTE: '660',
    }).broker.sim;
    expect(sim).toEqual({
      priceSeed: 'practice-1',
      priceVolatilityBps: '0',
      priceStepMs: 250,
      initialPrices: { AAPL: '190.5', MSFT: '410', 'BRK.B': '0.0001' },
      rateLimitPerMinute: 660,
    });
  });

  it('names every bad simulator variable', () => {
    const e = configError({
      SIM_INITIAL_PRICES: 'AAPL=0',
      SIM_PRICE_VOLATILITY_BPS: '1000.5',
      SIM_PRICE_STEP_MS: '5',
      SIM_PRICE_SEED: 'no spaces',
    });
    expect(variables(e)).toEqual([
      'SIM_INITIAL_PRICES',
      'SIM_PRICE_SEED',
      'SIM_PRICE_STEP_MS',
      'SIM_PRICE_VOLATILITY_BPS',
    ]);
    expect(variables(configError({ SIM_INITIAL_PRICES: 'AAPL' }))).toEqual(['SIM_INITIAL_PRICES']);
    expect(variables(configError({ SIM_PRICE_VOLATILITY_BPS: '-1' }))).toEqual(['SIM_PRICE_VOLATILITY_BPS']);
    expect(variables(configError({ SIM_RATE_LIMIT_PER_MINUTE: '-1' }))).toEqual(['SIM_RATE_LIMIT_PER_MINUTE']);
  });
});
