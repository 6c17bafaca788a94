/**
 * The exposure counters the pre-trade limits judge (migration 1765300000000)
 * are kept by triggers in the transaction of every change; at start each
 * replica recounts them from the orders and positions and corrects any row
 * that differs (docs/risk-and-safety.md#how-limits-stay-atomic), logging what
 * it corrected. A drift found means something wrote past the triggers (a
 * manual repair, a restore): it is named in the log.
 */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { UnitOfWork } from '../../infra/database/unit-of-work';
import { CounterDrift, ExposureRepository } from '../persistence/exposure.repository';

@Injectable()
export class ExposureCountersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ExposureCounters');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly exposure: ExposureRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.verify();
    } catch (err) {
      // The triggers still keep the counters; a failed recount is reported, not fatal.
      this.logger.error(`exposure counters could not be verified: ${(err as Error).message}`);
    }
  }

  /** Recounts and corrects; answers the rows it corrected. */
  async verify(): Promise<CounterDrift[]> {
    const drift = await this.uow.run((tx) => this.exposure.verifyAndRepair(tx));
    for (const d of drift) {
      this.logger.warn(`exposure counter ${d.kind} ${d.key} corrected: was ${d.found}, counted ${d.expected}`);
    }
    return drift;
  }
}
