/**
 * A typed client of the gateway's REST API: paths, bodies, answers and error
 * bodies are the types generated from the OpenAPI document (gateway-api.d.ts),
 * so a call that does not match the API does not compile.
 *
 *   const gw = createGatewayClient({ baseUrl: 'http://localhost:8002', apiKey });
 *   const { data, error } = await gw.POST('/api/v1/orders', { body: { ... } });
 *
 * See docs/clients.md.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './gateway-api';

export type { components, operations, paths } from './gateway-api';

export type GatewayClient = Client<paths>;

export interface GatewayClientOptions {
  /** Where the gateway listens, e.g. http://localhost:8002 (no /api/v1). */
  baseUrl: string;
  /** Sent as a bearer token on every request. */
  apiKey: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
}

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  const client = createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  client.use({
    onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${opts.apiKey}`);
      return request;
    },
  });
  return client;
}
