import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock';
import { Scheduler, SystemScheduler } from './scheduler';

@Global()
@Module({})
export class ClockModule {
  /** The system clock and timers, or the ones a test hands in. */
  static forRoot(clock: Clock = new SystemClock(), scheduler: Scheduler = new SystemScheduler()): DynamicModule {
    return {
      module: ClockModule,
      global: true,
      providers: [
        { provide: Clock, useValue: clock },
        { provide: Scheduler, useValue: scheduler },
      ],
      exports: [Clock, Scheduler],
    };
  }
}
