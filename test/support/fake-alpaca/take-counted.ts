/** A scripted behaviour (fault, delay) that applies to the next `remaining` requests of a route, or of any (`*`). */
export interface Counted<R extends string> {
  route: R | '*';
  remaining: number;
}

/** Takes the first entry for `route` with uses left, counts one use, and drops it once used up. */
export function takeCounted<R extends string, T extends Counted<R>>(list: T[], route: R): T | undefined {
  const i = list.findIndex((e) => e.remaining > 0 && (e.route === route || e.route === '*'));
  if (i === -1) return undefined;
  const entry = list[i];
  entry.remaining -= 1;
  if (entry.remaining === 0) list.splice(i, 1);
  return entry;
}
