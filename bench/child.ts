/**
 * Servers under test run as child processes, so the load generator never
 * shares an event loop (or a CPU profile) with them.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const OUTPUT_TAIL_LINES = 40;
const STOP_GRACE_MS = 10_000;

export interface ServerSpec {
  name: string;
  script: string;
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  /** When set, ready also means the body of readyPath matches (e.g. the reconciliation gate is open). */
  readyBody?: RegExp;
  /** Sent with the readiness request (/health shows its details only to a key). */
  readyHeaders?: Record<string, string>;
  readyTimeoutMs: number;
}

export interface ChildServer {
  name: string;
  baseUrl: string;
  pid: number | undefined;
  /** The last lines the child printed, for error messages. */
  outputTail(): string;
  /** How the child ended, when it has; undefined while it runs. */
  exitStatus(): string | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  stop(): Promise<void>;
}

/** Every child still running, so an abort or crash of the benchmark can take them down too. */
const live = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** A port that was free a moment ago (the OS picks it; a race with another process is possible but harmless here). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not allocate a port');
  return address.port;
}

export async function startServer(spec: ServerSpec): Promise<ChildServer> {
  const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), spec.script], {
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) tail.push(line);
    }
    tail.splice(0, Math.max(0, tail.length - OUTPUT_TAIL_LINES));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve();
    });
  });
  child.once('error', (err) => {
    tail.push(`spawn error: ${err.message}`);
  });

  const baseUrl = `http://127.0.0.1:${spec.port}`;
  const server: ChildServer = {
    name: spec.name,
    baseUrl,
    pid: child.pid,
    outputTail: () => tail.join('\n'),
    exitStatus: () => (exit ? `exited (code ${exit.code}, signal ${exit.signal})` : undefined),
    async stop() {
      if (exit) return;
      child.kill('SIGTERM');
      // Unreferenced, so a child that exits promptly does not leave the benchmark waiting out the grace period.
      const timer = sleep(STOP_GRACE_MS, undefined, { ref: false }).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };

  const deadline = Date.now() + spec.readyTimeoutMs;
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(`${spec.name} ${server.exitStatus()} during start-up; its last output:\n${server.outputTail()}`);
    }
    try {
      const res = await fetch(`${baseUrl}${spec.readyPath}`, {
        headers: spec.readyHeaders,
        signal: AbortSignal.timeout(1_000),
      });
      const body = await res.text();
      if (res.status === 200 && (!spec.readyBody || spec.readyBody.test(body))) return server;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  await server.stop();
  throw new Error(
    `${spec.name} was not ready at ${baseUrl}${spec.readyPath} within ${spec.readyTimeoutMs} ms; its last output:\n${server.outputTail()}`,
  );
}
