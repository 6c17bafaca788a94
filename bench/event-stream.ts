/**
 * A client of the gateway's order-event stream (GET /api/v1/events,
 * Server-Sent Events) that timestamps each frame as its bytes arrive.
 */
import { request } from 'node:http';
import { wallMs } from './live';

const EVENTS_PATH = '/api/v1/events';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface EventStream {
  close(): void;
  /** Why the stream ended, once it has. */
  endedBecause(): string | undefined;
}

export class MissingEndpointError extends Error {}

/**
 * Opens GET /api/v1/events and calls `onEvent` for every frame with the time
 * its bytes arrived. Resolves once the response head is in (the server sends
 * it when the stream is live).
 */
export function openEventStream(
  baseUrl: string,
  adminKey: string,
  onEvent: (e: SseEvent, receivedAtMs: number) => void,
  timeoutMs: number,
): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    let ended: string | undefined;
    const req = request(`${baseUrl}${EVENTS_PATH}`, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${adminKey}` },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no response head from ${EVENTS_PATH} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      ended ??= err.message;
      reject(err);
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => {
          const message = `GET ${EVENTS_PATH} answered ${res.statusCode}: ${body.slice(0, 300)}`;
          reject(res.statusCode === 404 ? new MissingEndpointError(message) : new Error(message));
        });
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = wallMs();
        buffer += chunk;
        // Frames end with a blank line; tolerate CRLF as the format allows.
        buffer = buffer.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e: SseEvent = { data: '' };
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line === '' || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') e.id = value;
            else if (field === 'event') e.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0) continue;
          e.data = data.join('\n');
          onEvent(e, at);
        }
      });
      res.once('end', () => (ended ??= 'the server ended the stream'));
      res.once('error', (err) => (ended ??= err.message));
      resolve({
        close: () => {
          ended ??= 'closed by the benchmark';
          req.destroy();
        },
        endedBecause: () => ended,
      });
    });
    req.end();
  });
}
