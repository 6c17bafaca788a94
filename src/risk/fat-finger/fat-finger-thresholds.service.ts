import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { StateStore } from '../../infra/state/state-store';
import { applyVersionedRead, CoalescedRefresher, isConfirmedWithin, ReplicatedSnapshot } from '../replicated-state';
import {
  applyUpdate,
  FAT_FINGER_MAX_AGE_MS,
  FAT_FINGER_REFRESH_MS,
  FatFingerLimits,
  FatFingerThresholds,
  parseThresholds,
  resolveThresholds,
  serializeThresholds,
  ThresholdsUpdate,
  toThresholdsBody,
} from './fat-finger-thresholds';
import { FatFingerThresholdsRepository } from './fat-finger-thresholds.repository';

/** Redis key (under the deployment's key prefix) caching the thresholds, read when PostgreSQL cannot be. */
export const FAT_FINGER_KEY = 'fat_finger:thresholds';
/** Change notifications; the message only says "read again" (channels are not prefixed). */
export const FAT_FINGER_CHANNEL = 'fat_finger.changes';

/**
 * Each replica holds the thresholds in memory: re-read from PostgreSQL every
 * 250 ms (the Redis key when PostgreSQL fails), and at once when a change is
 * announced. The order path reads memory only; thresholds not confirmed
 * within the last second are reported unreadable, and the caller fails closed.
 */
@Injectable()
export class FatFingerThresholdsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FatFinger');
  private readonly configured: FatFingerLimits;
  private snapshot: ReplicatedSnapshot<FatFingerThresholds> | null = null;
  private readonly refresher = new CoalescedRefresher(() => this.readOnce());
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => Promise<void>;
  private cachedVersion = -1;

  constructor(
    private readonly repo: FatFingerThresholdsRepository,
    private readonly store: StateStore,
    private readonly audit: AuditRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.configured = { ...config.fatFinger };
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      this.unsubscribe = await this.store.subscribe(FAT_FINGER_CHANNEL, () => void this.refresh());
    } catch (err) {
      // The periodic refresh still propagates changes, within 250 ms instead of at once.
      this.logger.warn(`cannot subscribe to ${FAT_FINGER_CHANNEL}: ${(err as Error).message}`);
    }
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), FAT_FINGER_REFRESH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => undefined);
    await this.refresher.stop();
  }

  /**
   * The thresholds in force on this replica, from memory. `readable` is false
   * when they were not confirmed within the last second (or never read): the
   * caller must then refuse orders that add exposure. Before any read, the
   * configured defaults are given (with readable = false).
   */
  current(): { readable: boolean; thresholds: FatFingerThresholds } {
    const snapshot = this.snapshot;
    return {
      readable: isConfirmedWithin(snapshot, performance.now(), FAT_FINGER_MAX_AGE_MS),
      thresholds: snapshot?.state ?? {
        defaults: { ...this.configured },
        symbolOverrides: {},
        updatedAt: null,
        updatedBy: null,
        version: -1,
      },
    };
  }

  /** Re-reads now; concurrent calls share one read. Never throws. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  /** From PostgreSQL (the operator wants the truth, not a cache). */
  async get(): Promise<FatFingerThresholds> {
    return resolveThresholds(await this.repo.read(), this.configured);
  }

  /**
   * Applies an operator's change under the settings row's lock, audited in the
   * same transaction with the thresholds before and after; then announced so
   * every replica has it within 1 s.
   */
  async update(cmd: { operator: string; update: ThresholdsUpdate }, ctx: ActorContext): Promise<FatFingerThresholds> {
    const after = await this.repo.withLocked(async (stored, manager) => {
      const written = await this.repo.write(manager, stored, applyUpdate(stored, cmd.update), cmd.operator);
      const before = resolveThresholds(stored, this.configured);
      const now = resolveThresholds(written, this.configured);
      await this.audit.append(
        {
          action: 'fat_finger.thresholds_updated',
          actor: cmd.operator,
          requestId: ctx.requestId,
          details: {
            before: toThresholdsBody(before),
            after: toThresholdsBody(now),
            api_key: ctx.actor,
            version: now.version,
          },
        },
        manager,
      );
      return now;
    });
    await this.announce(after);
    return after;
  }

  private async readOnce(): Promise<void> {
    const startedAt = performance.now();
    try {
      const thresholds = resolveThresholds(await this.repo.read(), this.configured);
      this.accept(thresholds, startedAt);
      if (thresholds.version !== this.cachedVersion) {
        // A failed cache write only matters if PostgreSQL is later down; the next read writes again.
        await this.store.set(FAT_FINGER_KEY, serializeThresholds(thresholds)).then(
          () => void (this.cachedVersion = thresholds.version),
          () => undefined,
        );
      }
      return;
    } catch (err) {
      this.logger.debug(`fat-finger thresholds: PostgreSQL read failed: ${(err as Error).message}`);
    }
    try {
      const raw = await this.store.get(FAT_FINGER_KEY);
      const thresholds = raw === null ? null : parseThresholds(raw);
      // Only a version at least as new as what this replica holds: the key may lag behind a change.
      if (thresholds && (!this.snapshot || thresholds.version >= this.snapshot.state.version)) {
        this.accept(thresholds, startedAt);
      }
    } catch (err) {
      this.logger.debug(`fat-finger thresholds: Redis read failed: ${(err as Error).message}`);
    }
  }

  private accept(thresholds: FatFingerThresholds, readStartedAt: number): void {
    const before = this.snapshot?.state.version;
    this.snapshot = applyVersionedRead(this.snapshot, thresholds, readStartedAt);
    if (before !== undefined && this.snapshot.state.version > before) {
      this.logger.log(`fat-finger thresholds version ${this.snapshot.state.version} in force (seen by this replica)`);
    }
  }

  /** After commit: this replica at once, the others through the channel (and the periodic read regardless). */
  private async announce(thresholds: FatFingerThresholds): Promise<void> {
    this.accept(thresholds, performance.now());
    try {
      await this.store.set(FAT_FINGER_KEY, serializeThresholds(thresholds));
      this.cachedVersion = thresholds.version;
      await this.store.publish(FAT_FINGER_CHANNEL, String(thresholds.version));
    } catch (err) {
      this.logger.warn(`fat-finger change not announced (replicas see it within 250 ms): ${(err as Error).message}`);
    }
  }
}
