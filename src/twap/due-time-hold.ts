/**
 * Items held until their due time by the Clock (the dispatcher's slices
 * claimed ahead): each is released when the Clock says it is due, never
 * before; a timer that fires early by the Clock holds its items again.
 */
import { Clock } from '../infra/clock/clock';
import { Scheduler } from '../infra/clock/scheduler';

export class DueTimeHold<T> {
  /** The held groups, by the promise that resolves when the group is handed on. */
  private readonly groups = new Map<Promise<void>, T[]>();

  constructor(
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly dueAt: (item: T) => number,
    private readonly release: (items: T[]) => void,
  ) {}

  /** Releases the items due now; holds the others, grouped by due time, until then. */
  add(items: T[]): void {
    const now = this.clock.now().getTime();
    const due: T[] = [];
    const later = new Map<number, T[]>();
    for (const item of items) {
      const at = this.dueAt(item);
      if (at <= now) due.push(item);
      else if (later.has(at)) later.get(at)!.push(item);
      else later.set(at, [item]);
    }
    for (const [at, group] of later) {
      const handedOn: Promise<void> = new Promise<void>((resolve) => {
        const go = () => {
          this.groups.delete(handedOn);
          this.add(group);
          resolve();
        };
        this.scheduler.after(Math.max(0, at - this.clock.now().getTime()), go, { name: 'twap-slice-due' });
      });
      this.groups.set(handedOn, group);
    }
    if (due.length) this.release(due);
  }

  /** Takes the held items `match` selects out: they are never released. */
  remove(match: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const group of this.groups.values()) {
      for (let i = group.length - 1; i >= 0; i--) {
        if (match(group[i])) removed.push(...group.splice(i, 1));
      }
    }
    return removed;
  }

  get size(): number {
    return this.groups.size;
  }

  /** What resolves as the groups held now are handed on. */
  pending(): Promise<void>[] {
    return [...this.groups.keys()];
  }
}
