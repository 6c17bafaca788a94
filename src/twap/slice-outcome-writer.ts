/**
 * Records what became of sent slices for the dispatcher's senders: outcomes
 * handed in while a write is under way go together in the next one, so under
 * load one statement records many slices. Each caller gets its own slice's
 * plan status, or the write's error (the slice then stays `sending` and is
 * taken up again through the order-entry door, which dedupes).
 */
import { PlanStatus, SliceOutcome, TwapRepository } from './persistence/twap.repository';

/** Slice outcomes written in one statement at most. */
const OUTCOMES_PER_WRITE = 500;

export class SliceOutcomeWriter {
  private readonly pending: Array<{
    outcome: SliceOutcome;
    resolve: (planStatus: PlanStatus | null) => void;
    reject: (err: unknown) => void;
  }> = [];
  private writing = false;

  constructor(private readonly plans: TwapRepository) {}

  /** Records `outcome`; answers the plan's status (null when the slice was no longer `sending`). */
  record(outcome: SliceOutcome): Promise<PlanStatus | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ outcome, resolve, reject });
      if (!this.writing) void this.write();
    });
  }

  private async write(): Promise<void> {
    this.writing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, OUTCOMES_PER_WRITE);
        try {
          const statuses = await this.plans.recordOutcomes(batch.map((b) => b.outcome));
          for (const b of batch) b.resolve(statuses.get(b.outcome.clientOrderId) ?? null);
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
