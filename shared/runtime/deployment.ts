// What the deployment's configuration says about its own reach: the ownership marker on what it
// creates, the writer lease's timing, and the limits on specs received over HTTP. From the parsed
// configuration (shared/runtime/config.ts), never from a spec.

import { type DeploymentLimits, defaultLimits } from '../domain/limits';
import { type OwnershipMarker, ownershipMarker } from '../domain/ownership';
import type { Spec } from '../domain/spec';
import type { LeaseOptions } from '../workflows/lease';
import type { Config } from './config';

export function ownershipFromConfig(config: Config): OwnershipMarker {
  return ownershipMarker({
    tagKey: config.SLB_AUTOPILOT_OWNER_TAG_KEY,
    namePrefix: config.SLB_AUTOPILOT_NAME_PREFIX,
    deploymentId: config.SLB_AUTOPILOT_DEPLOYMENT_ID,
  });
}

export function leaseFromConfig(config: Config): LeaseOptions {
  return {
    ttlMs: config.SLB_AUTOPILOT_LEASE_TTL_S * 1000,
    waitMs: config.SLB_AUTOPILOT_LEASE_WAIT_S * 1000,
    settleMs: config.SLB_AUTOPILOT_LEASE_SETTLE_MS,
  };
}

/** The limits on specs received over HTTP; unset ones default to what the deployed spec itself needs. */
export function limitsFromConfig(config: Config, deployed: Spec): DeploymentLimits {
  return defaultLimits(deployed, {
    ...(config.SLB_AUTOPILOT_ALLOWED_REGIONS ? { allowedRegions: config.SLB_AUTOPILOT_ALLOWED_REGIONS } : {}),
    ...(config.SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS
      ? { adoptable: config.SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS }
      : {}),
    ...(config.SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS !== undefined
      ? { maxNewLoadBalancers: config.SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS }
      : {}),
  });
}
