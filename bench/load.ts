/** One load run with autocannon, reduced to the figures the benchmark reports. */
import autocannon from 'autocannon';

export interface LoadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8123. */
  baseUrl: string;
  path: string;
  headers: Record<string, string>;
  /** POST (the default) or GET; a GET sends no body. */
  method?: 'GET' | 'POST';
  /** Called once per request sent, so every request can carry a different body (POST only). */
  nextBody?: () => string;
  durationS: number;
  connections: number;
  /** Aborting stops the run early; autocannon still reports what it measured. */
  signal?: AbortSignal;
}

export interface LoadSummary {
  durationS: number;
  connections: number;
  /** Completed requests, whatever their status. */
  requests: number;
  /** Successful (2xx) responses per second: error responses do not count as throughput. */
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Responses outside 2xx. */
  non2xx: number;
  /** Socket errors, timeouts included. */
  socketErrors: number;
  timeouts: number;
  /** non2xx + socketErrors: what the "0 errors" target counts. */
  errors: number;
  statusCodes: Record<string, number>;
}

export function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${opts.baseUrl}${opts.path}`,
        connections: opts.connections,
        duration: opts.durationS,
        pipelining: 1,
        requests: [
          opts.method === 'GET'
            ? { method: 'GET', path: opts.path, headers: opts.headers }
            : {
                method: 'POST',
                path: opts.path,
                headers: { 'content-type': 'application/json', ...opts.headers },
                // A fixed body would make every request after the first an idempotent replay (a read, not an insert).
                setupRequest: (request) => ({ ...request, body: opts.nextBody?.() ?? '{}' }),
              },
        ],
      },
      (err, result) => {
        opts.signal?.removeEventListener('abort', stop);
        if (err) reject(err);
        else resolve(summarize(result));
      },
    );
    const stop = () => instance.stop();
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener('abort', stop, { once: true });
  });
}

function summarize(r: autocannon.Result): LoadSummary {
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) statusCodes[code] = count;
  return {
    durationS: r.duration,
    connections: r.connections,
    requests: r.requests.total,
    rps: r.duration > 0 ? round(r['2xx'] / r.duration, 1) : 0,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: round(r.latency.mean, 2),
    },
    non2xx: r.non2xx,
    socketErrors: r.errors,
    timeouts: r.timeouts,
    errors: r.non2xx + r.errors,
    statusCodes,
  };
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
