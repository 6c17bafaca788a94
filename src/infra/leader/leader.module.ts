import { DynamicModule, Global, Module } from '@nestjs/common';
import { LEADER_ELECTION_OPTIONS, LeaderElectionOptions } from './leader-election.options';
import { LeaderElection } from './leader-election.service';

/**
 * One LeaderElection per replica, for every module that runs singleton jobs.
 * Needs the DataSource (DatabaseModule) and the Clock (ClockModule), both global.
 * Import it plainly for the defaults, or through forRoot() to tune it.
 */
@Global()
@Module({ providers: [LeaderElection], exports: [LeaderElection] })
export class LeaderModule {
  static forRoot(options: LeaderElectionOptions = {}): DynamicModule {
    return {
      module: LeaderModule,
      global: true,
      providers: [{ provide: LEADER_ELECTION_OPTIONS, useValue: options }],
      exports: [LeaderElection],
    };
  }
}
