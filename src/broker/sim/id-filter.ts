/**
 * A Bloom filter of strings in a fixed 1 MiB: `mightContain` is false only for
 * a string never added. The sim adds the client order id of every order that
 * leaves memory, so a new id (nearly every submission) is known to be free
 * without reading the durable book (sim-lookup.ts); only a possible match —
 * a real duplicate, or about 1 % false matches at a million ids — is looked up.
 */
const BITS = 1 << 23;
const HASHES = 7;

export class IdFilter {
  private readonly bits = new Uint8Array(BITS / 8);
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(id: string): void {
    for (const bit of positions(id)) this.bits[bit >>> 3] |= 1 << (bit & 7);
    this.count += 1;
  }

  mightContain(id: string): boolean {
    for (const bit of positions(id)) if ((this.bits[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
    return true;
  }
}

/** Double hashing over two 32-bit FNV-1a variants. */
function positions(id: string): number[] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  const out: number[] = [];
  for (let k = 0; k < HASHES; k++) out.push(((h1 + Math.imul(k, h2 | 1)) >>> 0) % BITS);
  return out;
}
