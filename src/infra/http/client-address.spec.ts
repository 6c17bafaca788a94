import fc from 'fast-check';
import { clientAddress, normalizeAddress, TrustedProxies } from './client-address';

const none = new TrustedProxies([]);
const lb = new TrustedProxies(['10.0.0.0/8', '::1']);

describe('clientAddress (docs/security.md#authentication-throttling)', () => {
  it('without trusted proxies: the socket address, X-Forwarded-For ignored', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', none)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:203.0.113.9', undefined, none)).toBe('203.0.113.9');
  });

  it('a peer that is not a trusted proxy: its own address, whatever it claims', () => {
    expect(clientAddress('203.0.113.9', '10.0.0.1, 198.51.100.1', lb)).toBe('203.0.113.9');
  });

  it('behind trusted proxies: the right-most hop that is not one of them', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.7', lb)).toBe('198.51.100.7');
    expect(clientAddress('10.1.2.3', 'spoofed, 198.51.100.7, 10.9.9.9', lb)).toBe('198.51.100.7');
    expect(clientAddress('::1', ['1.1.1.1, 198.51.100.7', '10.0.0.2'], lb)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:10.1.2.3', '::ffff:198.51.100.7', lb)).toBe('198.51.100.7');
  });

  it('every hop trusted: the left-most; no header: the proxy itself', () => {
    expect(clientAddress('10.1.2.3', '10.0.0.5, 10.0.0.6', lb)).toBe('10.0.0.5');
    expect(clientAddress('10.1.2.3', undefined, lb)).toBe('10.1.2.3');
  });

  it('garbage where an address should be stops the walk at the last trusted hop', () => {
    expect(clientAddress('10.1.2.3', 'not-an-ip', lb)).toBe('10.1.2.3');
    expect(clientAddress('10.1.2.3', 'not-an-ip, 10.0.0.7', lb)).toBe('10.0.0.7');
  });

  it('hops a client prepends never change the answer (property)', () => {
    const ip = fc.ipV4();
    fc.assert(
      fc.property(fc.array(fc.oneof(ip, fc.string())), ip, (spoofed, real) => {
        fc.pre(!real.startsWith('10.'));
        const header = [...spoofed.map((s) => s.replace(/,/g, '')), real, '10.0.0.1'].join(', ');
        expect(clientAddress('10.0.0.2', header, lb)).toBe(real);
        expect(clientAddress(real, header, none)).toBe(real);
      }),
    );
  });

  it('normalizes IPv4-mapped addresses', () => {
    expect(normalizeAddress(' ::FFFF:127.0.0.1 ')).toBe('127.0.0.1');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:db8::1');
  });
});
