/**
 * The open event streams of each API key (docs/security.md#event-streams).
 *
 * Invariants:
 * - a key holds at most `maxPerKey` open streams across replicas: each stream
 *   holds one of the key's `maxPerKey` slots in the state store, claimed
 *   atomically (set-if-absent), renewed while the stream is open, released
 *   when it ends, and expiring on its own when a replica dies;
 * - a revoked key's streams end: at once when the revocation is announced
 *   (the message only makes this replica ask PostgreSQL again), and within
 *   one re-check interval when the announcement is missed; a key that cannot
 *   be confirmed on two checks in a row is not trusted either.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { API_KEY_REVOKED_CHANNEL } from '../auth/api-key.service';
import { Principal } from '../auth/permission';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { Scheduler, TaskHandle } from '../infra/clock/scheduler';
import { StateStore } from '../infra/state/state-store';

/** How often every open stream's key is confirmed in PostgreSQL and its slot renewed. */
export const KEY_RECHECK_MS = 5_000;
/** A slot not renewed for this long is free again (its replica is gone). */
export const STREAM_LEASE_TTL_MS = 3 * KEY_RECHECK_MS;
/** Consecutive failed re-checks (PostgreSQL unreachable) after which a key's streams end. */
const MAX_UNCONFIRMED_CHECKS = 2;

/** Why the registry ended a stream. */
export type KeyStreamEndReason = 'key_revoked' | 'key_unverified' | 'lease_lost';

/** Confirms a key is still valid: resolves to its principal, or null once it is revoked. */
export type KeyCheck = () => Promise<Principal | null>;

/** What the registry needs of an open stream. */
export interface KeyStream {
  end(reason: KeyStreamEndReason): void;
}

/** The parts of the key service the registry uses. */
export abstract class KeyVerifier {
  /** Drops the key from the lookup cache, so the next check asks PostgreSQL. */
  abstract forget(keyId: string): void;
  abstract authenticate(presented: string): Promise<Principal | null>;
}

interface Entry {
  stream: KeyStream;
  slot: string;
  lease: string;
  check: KeyCheck;
}

export interface StreamAdmission {
  /** Ties the admitted slot to the stream (revocation and renewal end it). */
  attach(stream: KeyStream): void;
  /** Frees the slot; idempotent. */
  release(): Promise<void>;
}

@Injectable()
export class KeyStreamRegistry implements OnModuleDestroy {
  private readonly logger = new Logger('EventStreamKeys');
  private readonly byKey = new Map<string, Set<Entry>>();
  private readonly unconfirmed = new Map<string, number>();
  private timer?: TaskHandle;
  private subscription?: Promise<() => Promise<void>>;
  private readonly maxPerKey: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly store: StateStore,
    private readonly keys: KeyVerifier,
    private readonly scheduler: Scheduler,
  ) {
    this.maxPerKey = config.eventStreams.maxPerKey;
  }

  get openStreams(): number {
    let n = 0;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  /**
   * Claims one of the key's slots. Throws 429 TOO_MANY_STREAMS when all are
   * held, 503 EVENTS_UNAVAILABLE when the store cannot be reached.
   */
  async admit(principal: Principal, presentedKey: string): Promise<StreamAdmission> {
    await this.listenForRevocations();
    const lease = randomUUID();
    let slot: string | undefined;
    try {
      for (let i = 0; i < this.maxPerKey && slot === undefined; i++) {
        const candidate = slotKey(principal.keyId, i);
        if (await this.store.setIfAbsent(candidate, lease, STREAM_LEASE_TTL_MS)) slot = candidate;
      }
    } catch (err) {
      throw new DomainError(
        'unavailable',
        'EVENTS_UNAVAILABLE',
        `The order event stream is unavailable: the state store cannot be reached (${(err as Error).message})`,
      );
    }
    if (slot === undefined) {
      throw new DomainError(
        'rate_limited',
        'TOO_MANY_STREAMS',
        `This API key already holds ${this.maxPerKey} open event streams (SSE_MAX_STREAMS_PER_KEY); close one first`,
        { limit: this.maxPerKey },
        Math.ceil(KEY_RECHECK_MS / 1000),
      );
    }
    const claimed = slot;
    let entry: Entry | undefined;
    let released = false;
    const check: KeyCheck = () => this.keys.authenticate(presentedKey);
    return {
      attach: (stream) => {
        if (released) return;
        entry = { stream, slot: claimed, lease, check };
        this.add(principal.keyId, entry);
      },
      release: async () => {
        if (released) return;
        released = true;
        if (entry) this.remove(principal.keyId, entry);
        await this.freeSlot(claimed, lease);
      },
    };
  }

  /** Confirms every key with open streams and renews their slots (what the timer runs). */
  async recheckAll(): Promise<void> {
    await Promise.all([...this.byKey.keys()].map((keyId) => this.recheck(keyId)));
    await Promise.all([...this.byKey.values()].flatMap((set) => [...set].map((e) => this.renew(e))));
  }

  /** Confirms one key in PostgreSQL; ends its streams when it is revoked (or cannot be confirmed twice running). */
  async recheck(keyId: string): Promise<void> {
    const entries = this.byKey.get(keyId);
    const first = entries?.values().next().value;
    if (!first) return;
    let principal: Principal | null;
    try {
      this.keys.forget(keyId);
      principal = await first.check();
    } catch (err) {
      const failures = (this.unconfirmed.get(keyId) ?? 0) + 1;
      this.unconfirmed.set(keyId, failures);
      this.logger.warn(`cannot confirm API key ${keyId} for its open event streams: ${(err as Error).message}`);
      if (failures >= MAX_UNCONFIRMED_CHECKS) this.endAll(keyId, 'key_unverified');
      return;
    }
    this.unconfirmed.delete(keyId);
    if (!principal || !principal.has('VIEW_ORDERS')) this.endAll(keyId, 'key_revoked');
  }

  async onModuleDestroy(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const unsubscribe = await this.subscription?.catch(() => undefined);
    this.subscription = undefined;
    await unsubscribe?.().catch(() => undefined);
  }

  private add(keyId: string, entry: Entry): void {
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    set.add(entry);
    this.timer ??= this.scheduler.every(KEY_RECHECK_MS, () => this.recheckAll(), { name: 'event-stream key re-check' });
  }

  private remove(keyId: string, entry: Entry): void {
    const set = this.byKey.get(keyId);
    if (!set?.delete(entry) || set.size) return;
    this.byKey.delete(keyId);
    this.unconfirmed.delete(keyId);
    if (!this.byKey.size) {
      this.timer?.cancel();
      this.timer = undefined;
    }
  }

  private endAll(keyId: string, reason: KeyStreamEndReason): void {
    const entries = [...(this.byKey.get(keyId) ?? [])];
    if (entries.length) this.logger.warn(`ending ${entries.length} event stream(s) of API key ${keyId}: ${reason}`);
    for (const e of entries) e.stream.end(reason);
  }

  private async renew(e: Entry): Promise<void> {
    try {
      const holder = await this.store.get(e.slot);
      if (holder === e.lease || holder === null) await this.store.set(e.slot, e.lease, STREAM_LEASE_TTL_MS);
      // The slot expired (the store was away) and another stream took it: this one is over the limit.
      else e.stream.end('lease_lost');
    } catch {
      // The store is away: the slot may expire, which only lets one more stream in; renewed next time.
    }
  }

  private async freeSlot(slot: string, lease: string): Promise<void> {
    try {
      if ((await this.store.get(slot)) === lease) await this.store.del(slot);
    } catch {
      // It expires on its own.
    }
  }

  /** The revocation announcement only says "ask PostgreSQL about this key now". */
  private async listenForRevocations(): Promise<void> {
    this.subscription ??= this.store
      .subscribe(API_KEY_REVOKED_CHANNEL, (message) => {
        const keyId = revokedKeyId(message);
        if (keyId !== undefined && this.byKey.has(keyId)) void this.recheck(keyId);
      })
      .catch((err: unknown) => {
        this.subscription = undefined;
        // The periodic re-check still ends a revoked key's streams.
        this.logger.warn(`cannot subscribe to ${API_KEY_REVOKED_CHANNEL}: ${(err as Error).message}`);
        return async () => undefined;
      });
    await this.subscription;
  }
}

function slotKey(keyId: string, slot: number): string {
  return `events:streams:${keyId}:${slot}`;
}

function revokedKeyId(message: string): string | undefined {
  try {
    const m = JSON.parse(message) as { key_id?: unknown };
    return typeof m.key_id === 'string' ? m.key_id : undefined;
  } catch {
    return undefined;
  }
}
