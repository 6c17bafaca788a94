/**
 * Runs a documented `curl` command line against a test app: the method (`-X`),
 * the URL's path and query, every `-H` header and the `-d` body exactly as
 * written (curl's default `Content-Type` for `-d` included), through supertest.
 * Only what documentation examples use is understood; anything else throws.
 */
import type request from 'supertest';
import type { Response } from 'supertest';

export interface CurlRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: string | null;
}

/** Splits a shell command into words: single and double quotes, backslash-newline continuations. */
function words(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === '\\' && command[i + 1] === '\n') {
      i++;
      continue;
    }
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${command}`);
      cur += command.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\' && j + 1 < command.length) j++;
        cur += command[j];
      }
      i = j;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

export function parseCurl(command: string): CurlRequest {
  const w = words(command.trim());
  if (w[0] !== 'curl') throw new Error(`not a curl command: ${command}`);
  let method: string | null = null;
  let url: string | null = null;
  const headers: Array<[string, string]> = [];
  let body: string | null = null;
  for (let i = 1; i < w.length; i++) {
    const a = w[i];
    if (a === '-X' || a === '--request') method = w[++i];
    else if (a === '-H' || a === '--header') {
      const h = w[++i];
      const colon = h.indexOf(':');
      headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
    } else if (a === '-d' || a === '--data' || a === '--data-raw') body = w[++i];
    else if (a === '-s' || a === '-sS' || a === '--silent') continue;
    else if (a.startsWith('-')) throw new Error(`unsupported curl option ${a}`);
    else url = a;
  }
  if (!url) throw new Error(`no URL in: ${command}`);
  const parsed = new URL(url);
  return {
    method: method ?? (body === null ? 'GET' : 'POST'),
    path: parsed.pathname + parsed.search,
    headers,
    body,
  };
}

/** curl's `-d` without a Content-Type header sends a form content type. */
const CURL_DEFAULT_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export function runCurl(
  http: ReturnType<typeof request>,
  req: CurlRequest,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const method = req.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
  const call = http[method](req.path);
  for (const [name, value] of req.headers) call.set(name, value);
  for (const [name, value] of Object.entries(extraHeaders)) call.set(name, value);
  if (req.body === null) return call;
  if (!req.headers.some(([name]) => name.toLowerCase() === 'content-type')) {
    call.set('Content-Type', CURL_DEFAULT_CONTENT_TYPE);
  }
  return call.send(req.body);
}
