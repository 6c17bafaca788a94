/** Every migration, in order. Listed explicitly so source and compiled runs load the same set. */
import { InitialSchema1763700000000 } from './1763700000000-initial-schema';

export const MIGRATIONS = [InitialSchema1763700000000];
