import fc from 'fast-check';
import { API_KEY_SHAPE, REDACTED, redactUrl, SECRET_QUERY_PARAMS } from './redact-query';
import { redactLoggedUrls } from './logging.module';

const KEY = `eg_${'A'.repeat(20)}-_${'b'.repeat(21)}`;

describe('redactUrl (docs/security.md#secrets-in-logs)', () => {
  it.each([
    ['/api/v1/orders?api_key=s3cret-value', '/api/v1/orders?api_key=[redacted]'],
    ['/api/v1/orders?limit=5&apikey=s3cret&status=open', '/api/v1/orders?limit=5&apikey=[redacted]&status=open'],
    [
      '/api/v1/orders?KEY=x&Token=y&access_token=z',
      '/api/v1/orders?KEY=[redacted]&Token=[redacted]&access_token=[redacted]',
    ],
    ['/api/v1/orders?api%5Fkey=s3cret', '/api/v1/orders?api%5Fkey=[redacted]'],
    [`/api/v1/orders?q=${KEY}`, '/api/v1/orders?q=[redacted]'],
    [`/api/v1/orders?${KEY}`, '/api/v1/orders?[redacted]'],
    [`/api/v1/orders/${KEY}`, '/api/v1/orders/[redacted]'],
    [`/api/v1/orders?q=eg%5F${KEY.slice(3)}`, '/api/v1/orders?q=[redacted]'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('leaves a URL without credentials byte for byte', () => {
    for (const url of ['/api/v1/orders', '/api/v1/orders?limit=5&cursor=abc%3D', '/x?a&b=&=c', '/x?']) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('no credential value survives, whatever surrounds it (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,30}$/).map((s) => `S3CR3T${s}`);
    const plain = fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/));
    fc.assert(
      fc.property(
        fc.array(plain, { maxLength: 4 }),
        fc.constantFrom(...SECRET_QUERY_PARAMS),
        secret,
        fc.array(plain, { maxLength: 4 }),
        (before, name, value, after) => {
          const fmt = (ps: Array<[string, string]>) => ps.map(([k, v]) => `${k}=${v}`);
          const url = `/api/v1/orders?${[...fmt(before), `${name}=${value}`, ...fmt(after)].join('&')}`;
          const out = redactUrl(url);
          expect(out).not.toContain(value);
          expect(out).toContain(`${name}=${REDACTED}`);
        },
      ),
    );
  });

  it('redacts every key-shaped value (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.stringMatching(/^[a-z]{1,8}$/), (body, name) => {
        const key = `eg_${body}`;
        expect(API_KEY_SHAPE.test(key)).toBe(true);
        expect(redactUrl(`/api/v1/x?${name}=${key}`)).not.toContain(key);
      }),
    );
  });

  it('the log formatter redacts url and req.url fields and leaves other lines alone', () => {
    expect(redactLoggedUrls({ url: '/a?token=t', msg: 'm' })).toEqual({ url: '/a?token=[redacted]', msg: 'm' });
    expect(redactLoggedUrls({ req: { url: '/a?key=k', method: 'GET' } })).toEqual({
      req: { url: '/a?key=[redacted]', method: 'GET' },
    });
    const line = { msg: 'no url' };
    expect(redactLoggedUrls(line)).toBe(line);
  });
});
