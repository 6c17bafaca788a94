/**
 * `npm run keys -- <command>`: API keys from the command line, for the first
 * key of a deployment and for when no key with MANAGE_API_KEYS is at hand.
 *
 *   create --name NAME --permissions A,B --strategies s1,s2 [--json]
 *   list [--json]
 *   revoke ID
 *
 * Same rules and audit trail as the admin endpoint (actor `cli`). Reads the
 * gateway's configuration (DATABASE_URL, or the embedded PostgreSQL) and
 * applies pending migrations first. Exit code 0 on success, 1 on any error,
 * with a message naming the bad argument.
 */
import 'reflect-metadata';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { AuditRepository } from '../audit/audit.repository';
import { isApiKeyId, NewApiKey, splitList, validateNewApiKey } from '../auth/api-key-policy';
import { ApiKeyRecord, ApiKeyRepository } from '../auth/api-key.repository';
import { ApiKeyService } from '../auth/api-key.service';
import { ManageApiKeysUseCase, Operator } from '../auth/manage-api-keys.use-case';
import { PERMISSIONS } from '../auth/permission';
import { DomainError, InputValidationError } from '../common/domain-error';
import { AppConfig, ConfigError, loadConfig } from '../config/app-config';
import { SystemClock } from '../infra/clock/clock';
import { createDataSource, runMigrations } from '../infra/database/data-source';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '../infra/database/embedded-postgres';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { MemoryStateStore } from '../infra/state/memory-state-store';
import { RedisStateStore } from '../infra/state/redis-state-store';
import { StateStore } from '../infra/state/state-store';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export const USAGE = `usage: npm run keys -- <command>

  create --name NAME --permissions A,B --strategies s1,s2 [--json]
      creates a key and prints it once (it is stored hashed and never shown again)
  list [--json]
      lists every key (revoked ones included), without secrets
  revoke ID
      revokes a key (idempotent)

permissions: ${PERMISSIONS.join(', ')}
strategies:  strategy ids, or '*' for all
`;

/** Field names of the shared validation, as the flags that carry them. */
const FLAG_OF_FIELD: Record<string, string> = {
  name: '--name',
  permissions: '--permissions',
  strategies: '--strategies',
};

type Command =
  { kind: 'create'; key: NewApiKey; json: boolean } | { kind: 'list'; json: boolean } | { kind: 'revoke'; id: string };

class UsageError extends Error {}

/** Parses and validates the arguments before anything is opened. Throws UsageError naming the bad argument. */
export function parseCommand(argv: string[]): Command | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        permissions: { type: 'string' },
        strategies: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') return 'help';
  const allowOnly = (allowed: string[]) => {
    const extra = Object.keys(values).filter(
      (k) => values[k as keyof typeof values] !== undefined && !allowed.includes(k),
    );
    if (extra.length) throw new UsageError(`${command}: unexpected option(s) ${extra.map((e) => `--${e}`).join(', ')}`);
  };
  switch (command) {
    case 'create': {
      allowOnly(['name', 'permissions', 'strategies', 'json']);
      if (rest.length) throw new UsageError(`create: unexpected argument(s) ${rest.join(' ')}`);
      const missing = ['name', 'permissions', 'strategies'].filter((f) => values[f as 'name'] === undefined);
      if (missing.length) throw new UsageError(`create: missing ${missing.map((m) => FLAG_OF_FIELD[m]).join(', ')}`);
      try {
        const key = validateNewApiKey({
          name: values.name,
          permissions: splitList(values.permissions ?? ''),
          strategies: splitList(values.strategies ?? ''),
        });
        return { kind: 'create', key, json: !!values.json };
      } catch (err) {
        if (!(err instanceof InputValidationError)) throw err;
        throw new UsageError(
          err.fields.map((f) => `${FLAG_OF_FIELD[f.field] ?? f.field}: ${f.problems.join('; ')}`).join('\n'),
        );
      }
    }
    case 'list':
      allowOnly(['json']);
      if (rest.length) throw new UsageError(`list: unexpected argument(s) ${rest.join(' ')}`);
      return { kind: 'list', json: !!values.json };
    case 'revoke': {
      allowOnly([]);
      if (rest.length !== 1) throw new UsageError('revoke: give exactly one key ID (see `list`)');
      const id = rest[0];
      if (!isApiKeyId(id)) throw new UsageError(`revoke: ID must be a key id (a UUID, see \`list\`), got "${id}"`);
      return { kind: 'revoke', id };
    }
    case undefined:
      throw new UsageError('a command is required: create, list or revoke');
    default:
      throw new UsageError(`unknown command "${command}": use create, list or revoke`);
  }
}

/** Runs the command; resolves to the process exit code. */
export async function runKeysCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = stdio,
): Promise<number> {
  let command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n\n${USAGE}`);
    return 1;
  }
  if (command === 'help') {
    io.out(USAGE);
    return 0;
  }
  let config: AppConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const resources = await openResources(config, io);
  try {
    const manage = new ManageApiKeysUseCase(
      resources.uow,
      resources.keys,
      new AuditRepository(resources.ds),
      new ApiKeyService(config, resources.keys, new AuditRepository(resources.ds), resources.store, new SystemClock()),
    );
    // No scope: whoever can run this against the database has the operator's powers (docs/security.md).
    const operator: Operator = {
      actor: 'cli',
      keyId: null,
      requestId: null,
      scope: null,
      context: { os_user: osUser() },
    };
    switch (command.kind) {
      case 'create': {
        const { record, key } = await manage.create(command.key, operator);
        if (command.json) {
          io.out(
            `${JSON.stringify({ id: record.id, key, name: record.name, permissions: record.permissions, strategies: record.strategies, created_at: record.createdAt.toISOString() })}\n`,
          );
        } else {
          io.out(
            `created API key "${record.name}" (id ${record.id})\n` +
              `  permissions: ${record.permissions.join(', ')}\n` +
              `  strategies:  ${record.strategies.join(', ')}\n\n` +
              `  key (shown only now, store it safely):\n\n    ${key}\n\n`,
          );
        }
        return 0;
      }
      case 'list': {
        const records = await manage.list(operator);
        io.out(command.json ? `${JSON.stringify(records.map(listed))}\n` : formatTable(records));
        return 0;
      }
      case 'revoke': {
        const record = await manage.revoke(command.id, operator);
        io.out(`revoked API key "${record.name}" (id ${record.id}) at ${record.revokedAt?.toISOString()}\n`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof DomainError) {
      io.err(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await resources.close();
  }
}

interface Resources {
  ds: DataSource;
  uow: UnitOfWork;
  keys: ApiKeyRepository;
  store: StateStore;
  close(): Promise<void>;
}

async function openResources(config: AppConfig, io: CliIo): Promise<Resources> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let url = config.database.url;
  if (!url) {
    const local = await runningEmbeddedUrl(config.database.embeddedPort);
    if (local) url = local;
    else {
      embedded = await startEmbeddedPostgres(config.database.embeddedDir, config.database.embeddedPort, {
        info: () => undefined,
        debug: () => undefined,
      });
      url = embedded.url;
    }
  }
  const ds = createDataSource({ url, poolSize: 2, applicationName: 'execution-gateway-keys' });
  let store: StateStore = new MemoryStateStore();
  try {
    await ds.initialize();
    await runMigrations(ds);
    if (config.redis.url) {
      try {
        store = await RedisStateStore.connect(config.redis.url, config.redis.keyPrefix);
      } catch (err) {
        // Only revocations need Redis (to reach running replicas at once); without it they take up to 10 s.
        io.err(
          `warning: cannot reach Redis (${(err as Error).message}); running gateways see a revocation within 10 s\n`,
        );
      }
    }
  } catch (err) {
    if (ds.isInitialized) await ds.destroy();
    await embedded?.stop();
    throw err;
  }
  const uow = new UnitOfWork(ds);
  return {
    ds,
    uow,
    keys: new ApiKeyRepository(ds, uow),
    store,
    async close() {
      await store.close().catch(() => undefined);
      await ds.destroy().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/**
 * A gateway already running on the embedded PostgreSQL holds its data
 * directory: reach that server instead of starting a second one. The
 * credentials are embedded-postgres.ts's local-only ones.
 */
async function runningEmbeddedUrl(port: number): Promise<string | undefined> {
  const url = `postgres://postgres:embedded@127.0.0.1:${port}/execution_gateway`;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function listed(r: ApiKeyRecord) {
  return {
    id: r.id,
    name: r.name,
    key_prefix: r.keyPrefix,
    permissions: r.permissions,
    strategies: r.strategies,
    created_at: r.createdAt.toISOString(),
    created_by: r.createdBy,
    revoked_at: r.revokedAt?.toISOString() ?? null,
    revoked_by: r.revokedBy,
    last_used_at: r.lastUsedAt?.toISOString() ?? null,
  };
}

function formatTable(records: ApiKeyRecord[]): string {
  if (!records.length) return 'no API keys stored\n';
  return (
    records
      .map(
        (r) =>
          `${r.id}  ${r.revokedAt ? 'revoked' : 'active '}  ${r.keyPrefix}…  ${r.name}\n` +
          `    permissions: ${r.permissions.join(', ')}\n` +
          `    strategies:  ${r.strategies.join(', ')}\n` +
          `    created ${r.createdAt.toISOString()} by ${r.createdBy}` +
          (r.revokedAt ? `; revoked ${r.revokedAt.toISOString()} by ${r.revokedBy ?? '?'}` : '') +
          (r.lastUsedAt ? `; last used ${r.lastUsedAt.toISOString()}` : ''),
      )
      .join('\n') + '\n'
  );
}

function osUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

if (require.main === module) {
  runKeysCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
