import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { StateStore } from '../../infra/state/state-store';
import { ReplicatedState } from '../../infra/state/replicated-state';
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
/** Change notifications (`<prefix>fat_finger.changes` on the wire); the message only says "read again". */
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
  private readonly replica: ReplicatedState<FatFingerThresholds>;

  constructor(
    private readonly repo: FatFingerThresholdsRepository,
    store: StateStore,
    private readonly audit: AuditRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.configured = { ...config.fatFinger };
    this.replica = new ReplicatedState({
      name: 'fat-finger',
      what: 'thresholds',
      logger: this.logger,
      store,
      read: () => this.get(),
      cache: { key: FAT_FINGER_KEY, serialize: serializeThresholds, parse: parseThresholds },
      channel: FAT_FINGER_CHANNEL,
      refreshMs: FAT_FINGER_REFRESH_MS,
      maxAgeMs: FAT_FINGER_MAX_AGE_MS,
      onAccepted: (now, before) => {
        if (before !== undefined && now.version > before.version) {
          this.logger.log(`fat-finger thresholds version ${now.version} in force (seen by this replica)`);
        }
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.replica.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica.stop();
  }

  /**
   * The thresholds in force on this replica, from memory. `readable` is false
   * when they were not confirmed within the last second (or never read): the
   * caller must then refuse orders that add exposure. Before any read, the
   * configured defaults are given (with readable = false).
   */
  current(): { readable: boolean; thresholds: FatFingerThresholds } {
    return {
      readable: this.replica.readable(),
      thresholds: this.replica.snapshot?.state ?? {
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
    return this.replica.refresh();
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
    const after = await this.repo.withLocked(async (stored, tx) => {
      const written = await this.repo.write(tx, stored, applyUpdate(stored, cmd.update), cmd.operator);
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
        tx,
      );
      return now;
    });
    await this.replica.announce(after);
    return after;
  }
}
