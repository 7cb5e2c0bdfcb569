// What the workflows that write to load balancers are given, written once: apply, renewal and failover
// each add their own to these.

import type { CasClient } from '../cloud/cas';
import type { SlbClient } from '../cloud/slb';
import type { OwnershipMarker } from '../domain/ownership';
import type { LeaseOptions } from './lease';

/** A writer to load balancers: the cloud, the clock, whose resources are ours, the writer lease. */
export interface WriterDeps {
  slb: SlbClient;
  now: () => Date;
  /** this deployment's marker: what it creates carries it, and only what carries it is changed or deleted */
  ownership: OwnershipMarker;
  /** the per-load-balancer writer lease (default DEFAULT_LEASE) */
  lease?: LeaseOptions;
  sleep?: (ms: number) => Promise<void>;
}

/** A writer that also reads certificate sources: CAS, the environment, files. */
export interface CertificateWriterDeps extends WriterDeps {
  cas: CasClient;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
}
