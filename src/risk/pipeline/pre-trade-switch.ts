import { Injectable, Logger } from '@nestjs/common';

/**
 * Whether the pre-trade checks (the pipeline and the rate limits) run. Always
 * on: no configuration turns them off. Only the benchmark's own entry point
 * (bench/unchecked-gateway.ts) switches them off, to measure what they cost
 * against the same build under the same load.
 */
@Injectable()
export class PreTradeSwitch {
  private on = true;

  get enabled(): boolean {
    return this.on;
  }

  disableForBenchmark(): void {
    this.on = false;
    new Logger('PreTrade').warn('PRE-TRADE CHECKS DISABLED (benchmark build): orders pass unchecked');
  }
}
