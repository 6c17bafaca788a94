/** A minimal EventSource for tests: opens GET /api/v1/events and parses frames as they arrive. */
import http from 'node:http';
import { auth, TestApp } from './app';

export interface StreamFrame {
  id?: string;
  event?: string;
  data: { id: number; client_order_id: string; strategy_id: string; symbol: string } & Record<string, unknown>;
}

export interface StreamClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body when the answer is not a stream (an error). */
  body: string;
  events: StreamFrame[];
  /** The id an EventSource would resume from: the last `id:` received. */
  readonly lastEventId: string | undefined;
  ended: boolean;
  waitForEvents(match: (e: StreamFrame) => boolean, count: number, timeoutMs?: number): Promise<StreamFrame[]>;
  close(): void;
}

export function openStream(app: TestApp, path: string, headers: Record<string, string> = auth): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      new URL(path, app.baseUrl),
      { headers: { Accept: 'text/event-stream', ...headers } },
      (res) => {
        let lastEventId: string | undefined;
        const client: StreamClient = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: '',
          events: [],
          get lastEventId() {
            return lastEventId;
          },
          ended: false,
          async waitForEvents(match, count, timeoutMs = 5_000) {
            await waitUntil(() => client.events.filter(match).length >= count, timeoutMs);
            return client.events.filter(match);
          },
          close: () => req.destroy(),
        };
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (client.status !== 200) {
            client.body += chunk;
            return;
          }
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const frame: { id?: string; event?: string; dataText?: string } = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const [field, ...rest] = line.split(': ');
              const value = rest.join(': ');
              if (field === 'id') frame.id = lastEventId = value;
              else if (field === 'event') frame.event = value;
              else if (field === 'data') frame.dataText = value;
            }
            if (frame.dataText !== undefined) {
              client.events.push({
                id: frame.id,
                event: frame.event,
                data: JSON.parse(frame.dataText) as StreamFrame['data'],
              });
            }
          }
        });
        const ended = () => (client.ended = true);
        res.on('end', ended);
        res.on('close', ended);
        res.on('error', () => undefined);
        if (client.status === 200) resolve(client);
        else res.on('end', () => resolve(client));
      },
    );
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
  });
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
