/**
 * Which address a request comes from, for per-address limits
 * (docs/security.md#authentication-throttling). Pure apart from node:net.
 *
 * Invariants:
 * - with no trusted proxy (TRUSTED_PROXY_HOSTS empty, the default) the answer
 *   is the socket's peer address: X-Forwarded-For is ignored, so a client
 *   cannot pick its own address by sending the header;
 * - when the peer is a trusted proxy, X-Forwarded-For is read from the right
 *   (the hop the proxy itself appended) and the first address that is not a
 *   trusted proxy is the client; hops to the left of it were written by the
 *   client and are never believed;
 * - IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are the IPv4 address.
 */
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** `entries`: addresses and CIDR ranges, as parsed from TRUSTED_PROXY_HOSTS. */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
  }

  has(address: string): boolean {
    const family = isIP(address);
    if (!family) return false;
    return this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else trimmed and lower-cased. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  return mapped ? mapped[1] : a;
}

/** The client's address, given the socket's peer address and the X-Forwarded-For header(s). */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: TrustedProxies,
): string {
  const peer = normalizeAddress(socketAddress ?? 'unknown');
  if (trusted.empty || !trusted.has(peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map(normalizeAddress)
    .filter((h) => h.length > 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    // A hop that is not an address was not written by a proxy we trust: stop at the last one that was.
    if (!isIP(hop)) return i === hops.length - 1 ? peer : hops[i + 1];
    if (!trusted.has(hop)) return hop;
  }
  // Every hop is a trusted proxy: the left-most is as close to the client as we can tell.
  return hops[0] ?? peer;
}
