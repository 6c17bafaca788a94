/** Every migration, in order. Listed explicitly so source and compiled runs load the same set. */
import { InitialSchema1763700000000 } from './1763700000000-initial-schema';
import { OrderLifecycle1763800000000 } from './1763800000000-order-lifecycle';
import { KillSwitch1763900000000 } from './1763900000000-kill-switch';

export const MIGRATIONS = [InitialSchema1763700000000, OrderLifecycle1763800000000, KillSwitch1763900000000];
