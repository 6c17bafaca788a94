import { auth, TestApp } from './app';

export interface CreatedKey {
  id: string;
  key: string;
  name: string;
  /** `Authorization` header for this key. */
  auth: { Authorization: string };
}

let seq = 0;

/** Creates a key through POST /api/v1/admin/api-keys with the admin key (or `as`). */
export async function createKey(
  t: TestApp,
  permissions: readonly string[],
  strategies: readonly string[] = ['*'],
  opts: { name?: string; as?: { Authorization: string } } = {},
): Promise<CreatedKey> {
  const name = opts.name ?? `test-key-${process.pid}-${++seq}`;
  const res = await t.http
    .post('/api/v1/admin/api-keys')
    .set(opts.as ?? auth)
    .send({ name, permissions, strategies });
  if (res.status !== 201) throw new Error(`creating key ${name} failed: ${res.status} ${res.text}`);
  const body = res.body as { id: string; key: string };
  return { id: body.id, key: body.key, name, auth: { Authorization: `Bearer ${body.key}` } };
}
