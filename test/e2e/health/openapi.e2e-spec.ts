/**
 * The API description (docs/api.md): served as JSON and YAML, Swagger UI keeps
 * the key across reloads, every request example it pre-fills is accepted, and
 * every operation declares the error responses it can answer, each with the
 * one error body.
 */
import { OrderCommand } from '../../../src/order-entry/order-command';
import { auth, startTestApp, TestApp } from '../../support/app';
import { RBAC_ROUTES } from '../../support/rbac-routes';

interface Schema {
  $ref?: string;
  type?: string;
  example?: unknown;
  default?: unknown;
  enum?: unknown[];
  oneOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
}
interface MediaType {
  schema?: Schema;
  examples?: Record<string, { summary?: string; value: unknown }>;
}
interface Operation {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
}
interface Document {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

let t: TestApp;
let doc: Document;

beforeAll(async () => {
  t = await startTestApp();
  const res = await t.http.get('/docs-json');
  expect(res.status).toBe(200);
  doc = res.body as Document;
});

afterAll(async () => {
  await t?.close();
});

function operations(): Array<[string, Operation]> {
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op] as [string, Operation]),
    );
}

/** The body Swagger UI pre-fills from a schema: each property's example, else default, else first enum value, else a type's placeholder. */
function sample(schema: Schema): unknown {
  if (schema.$ref) return sample(doc.components.schemas[schema.$ref.split('/').pop()!]);
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.oneOf) return sample(schema.oneOf[0]);
  if (schema.properties) {
    return Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, sample(v)]));
  }
  switch (schema.type) {
    case 'array':
      return [sample(schema.items ?? {})];
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return true;
    case 'object':
      return {};
    default:
      return 'string';
  }
}

/** The bodies Swagger UI offers: the named examples, or the sample built from the schema. */
function bodiesOf(op: Operation): Array<[string, unknown]> {
  const media = op.requestBody!.content['application/json'];
  if (media.examples) return Object.entries(media.examples).map(([name, e]) => [name, e.value]);
  return [['schema sample', sample(media.schema!)]];
}

describe('documents', () => {
  it('JSON at /docs-json (and /docs/json), YAML at /docs-yaml; the description links both', async () => {
    expect(doc.info.description).toContain('/docs-json');
    expect(doc.info.description).toContain('/docs-yaml');
    const old = await t.http.get('/docs/json');
    expect(old.status).toBe(200);
    expect(old.body).toEqual(doc);
    const yaml = await t.http.get('/docs-yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toMatch(/^openapi: 3\./m);
    expect(yaml.text).toContain('/api/v1/orders:');
  });

  it('Swagger UI keeps the authorization across reloads (persistAuthorization)', async () => {
    const init = await t.http.get('/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.text).toMatch(/"persistAuthorization":\s*true/);
  });
});

describe('POST /api/v1/orders request examples', () => {
  const examples = () => bodiesOf(doc.paths['/api/v1/orders'].post);

  it('offers named examples, the market order first', () => {
    expect(examples().map(([name]) => name)).toEqual(
      expect.arrayContaining(['market', 'limit', 'stop', 'stop_limit', 'bracket', 'oco', 'own_id']),
    );
    expect(examples()[0][0]).toBe('market');
  });

  it('each example is a valid order command', () => {
    for (const [name, body] of examples()) {
      let problem: string | null = null;
      try {
        OrderCommand.create(body);
      } catch (err) {
        problem = (err as Error).message;
      }
      expect({ name, problem }).toEqual({ name, problem: null });
    }
  });

  it('each example, posted as it stands, is accepted (201 or 200)', async () => {
    // The OCO example exits a long AAPL position: there is one to exit.
    await t.db.query(`INSERT INTO positions (symbol, qty, avg_entry_price) VALUES ('AAPL', 10, 190)
      ON CONFLICT (symbol) DO UPDATE SET qty = 10, avg_entry_price = 190`);
    for (const [name, body] of examples()) {
      const res = await t.http
        .post('/api/v1/orders')
        .set(auth)
        .send(body as object);
      expect({ name, accepted: res.status === 200 || res.status === 201, body: res.body }).toEqual({
        name,
        accepted: true,
        body: expect.objectContaining({ client_order_id: expect.any(String) }),
      });
    }
  });

  it('the field-level examples alone combine into a valid order', () => {
    const schema = doc.components.schemas.OrderRequestDto;
    const fromFields = Object.fromEntries(
      Object.entries(schema.properties!)
        .filter(([, p]) => p.example !== undefined)
        .map(([k, p]) => [k, p.example]),
    );
    expect(() => OrderCommand.create(fromFields)).not.toThrow();
  });
});

describe('every other request body Swagger UI pre-fills passes validation', () => {
  const withBody = () => operations().filter(([route, op]) => op.requestBody && route !== 'POST /api/v1/orders');

  it('there are such operations', () => expect(withBody().length).toBeGreaterThan(5));

  // A refusal on the state (e.g. 422 POSITION_FLAT: nothing to close) is not an invalid body.
  const INVALID_BODY = new Set(['VALIDATION_FAILED', 'MALFORMED_JSON']);

  it('none is refused as invalid (no 400, no 422 VALIDATION_FAILED)', async () => {
    for (const [route, op] of withBody()) {
      const [method, template] = route.split(' ');
      const path = template.replace(/\{[^}]+\}/g, '1');
      for (const [name, body] of bodiesOf(op)) {
        const res = await t.http[method.toLowerCase() as 'post' | 'put'](path)
          .set(auth)
          .send(body as object);
        expect({
          route,
          name,
          invalid: res.status === 400 || INVALID_BODY.has((res.body as { error?: string }).error ?? ''),
          body: res.body,
        }).toEqual({
          route,
          name,
          invalid: false,
          body: res.body,
        });
      }
    }
    await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'test' });
  });
});

describe('error responses', () => {
  it('every /api/v1 operation declares 401 and 429, and every error response carries the error body', () => {
    for (const [route, op] of operations()) {
      const statuses = Object.keys(op.responses);
      expect({ route, has: ['401', '429'].filter((s) => statuses.includes(s)) }).toEqual({
        route,
        has: ['401', '429'],
      });
      expect({ route, success: statuses.some((s) => s.startsWith('2')) }).toEqual({ route, success: true });
      for (const [status, r] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect({ route, status, schema: r.content?.['application/json']?.schema }).toEqual({
          route,
          status,
          schema: { $ref: '#/components/schemas/ErrorResponseDto' },
        });
      }
    }
  });

  it('a body adds 400, 413 and 422; path or query parameters add 422', () => {
    for (const [route, op] of operations()) {
      const statuses = Object.keys(op.responses);
      const needed = [
        ...(op.requestBody ? ['400', '413', '422'] : []),
        ...(op.parameters?.some((p) => p.in === 'path' || p.in === 'query') ? ['422'] : []),
      ];
      expect({ route, missing: needed.filter((s) => !statuses.includes(s)) }).toEqual({ route, missing: [] });
    }
  });

  it('every route that needs a permission declares 403', () => {
    const byRoute = new Map(operations());
    for (const row of RBAC_ROUTES.filter((r) => r.permission !== null)) {
      const op = byRoute.get(row.route);
      expect({ route: row.route, declared: op !== undefined && '403' in op.responses }).toEqual({
        route: row.route,
        declared: true,
      });
    }
  });

  it('POST /api/v1/orders names every refusal: 403, 409, 422, 429 and the 503 gates', () => {
    const op = doc.paths['/api/v1/orders'].post;
    const examples = (status: string) =>
      Object.keys(op.responses[status]?.content?.['application/json']?.examples ?? {});
    expect(examples('403')).toEqual(expect.arrayContaining(['PERMISSION_DENIED', 'STRATEGY_FORBIDDEN']));
    expect(examples('409')).toEqual(['CLIENT_ORDER_ID_CONFLICT']);
    expect(examples('422')).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'FAT_FINGER_MAX_QTY']));
    expect(examples('429')).toEqual(expect.arrayContaining(['RATE_LIMITED', 'AUTH_THROTTLED']));
    expect(examples('503')).toEqual(
      expect.arrayContaining([
        'KILL_SWITCH_ENGAGED',
        'CIRCUIT_BREAKER_TRIPPED',
        'RECONCILIATION_GATE_REDUCE_ONLY',
        'SYMBOL_QUARANTINED',
        'SAFETY_STATE_UNAVAILABLE',
      ]),
    );
    for (const status of ['403', '409', '422', '429', '503']) {
      for (const e of Object.values(op.responses[status].content!['application/json'].examples!)) {
        expect(Object.keys(e.value as object)).toEqual(expect.arrayContaining(['error', 'message', 'request_id']));
      }
    }
  });
});
