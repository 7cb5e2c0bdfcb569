// The deployment settings tests run workflows with: the default ownership marker, and a writer lease
// that settles fast (the local cloud answers in milliseconds) so tests do not wait a second per run.
import type { LeaseOptions } from '../../shared/workflows/lease';

export { DEFAULT_OWNERSHIP } from '../../shared/domain/ownership';

export const TEST_LEASE: LeaseOptions = { ttlMs: 60_000, waitMs: 10_000, settleMs: 50 };

/** The same for functions run in-process, through their environment. */
export const TEST_LEASE_ENV = {
  SLB_AUTOPILOT_LEASE_SETTLE_MS: '50',
  SLB_AUTOPILOT_LEASE_WAIT_S: '10',
} as const;
