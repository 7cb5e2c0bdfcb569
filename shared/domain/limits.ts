// The limits a deployment puts on specs it receives over HTTP (SLB_AUTOPILOT_ALLOWED_REGIONS,
// SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS, SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS): a caller who can sign a
// request still acts only where the deployer said: in the allowed regions, on the load balancers the
// deployment lists, creating at most so many new ones (they cost money). Checked before the first
// write; a spec outside them changes nothing. Pure: no I/O.

import { GuardRefusedError } from '../errors';
import type { Spec } from './spec';

export interface DeploymentLimits {
  /** regions a spec may name */
  allowedRegions: readonly string[];
  /** existing load balancers (ids) a spec may adopt */
  adoptable: readonly string[];
  /** load balancers this deployment may have created in a region, in all */
  maxNewLoadBalancers: number;
}

export class LimitError extends GuardRefusedError {
  override name = 'LimitError';
  declare readonly field: string;
  constructor(
    /** the configuration variable that sets the limit */
    readonly limit: string,
    /** the spec field outside it, e.g. `loadBalancers[1].id` */
    field: string,
    message: string,
  ) {
    super(`${field}: ${message} (${limit})`, { field, code: 'OutsideDeploymentLimits', status: 403 });
  }
}

/**
 * The limits when the configuration sets none: the deployed spec's own region and adopted load
 * balancers, and as many new load balancers as it creates itself. So the API can always apply the
 * deployed spec, and anything beyond it needs the deployer's say.
 */
export function defaultLimits(
  deployed: Spec,
  configured: {
    allowedRegions?: readonly string[];
    adoptable?: readonly string[];
    maxNewLoadBalancers?: number;
  },
): DeploymentLimits {
  return {
    allowedRegions: configured.allowedRegions ?? [deployed.region],
    adoptable: (
      configured.adoptable ?? deployed.loadBalancers.flatMap((lb) => (lb.id ? [lb.id] : []))
    ).filter((id) => id !== 'none'),
    maxNewLoadBalancers:
      configured.maxNewLoadBalancers ?? deployed.loadBalancers.filter((lb) => lb.create).length,
  };
}

/** The region and the adopted load balancers: checked before anything is read. */
export function checkSpecLimits(spec: Spec, limits: DeploymentLimits): void {
  if (!limits.allowedRegions.includes(spec.region))
    throw new LimitError(
      'SLB_AUTOPILOT_ALLOWED_REGIONS',
      'region',
      `${spec.region} is not a region this deployment acts in (allowed: ${limits.allowedRegions.join(', ') || 'none'})`,
    );
  spec.loadBalancers.forEach((lb, i) => {
    if (lb.id && !limits.adoptable.includes(lb.id))
      throw new LimitError(
        'SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS',
        `loadBalancers[${i}].id`,
        `${lb.id} is not a load balancer this deployment may change`,
      );
  });
}

/** New load balancers: those this deployment already created in the region plus the plan's, at most the cap. */
export function checkNewLoadBalancers(
  creating: number,
  alreadyCreated: number,
  limits: DeploymentLimits,
): void {
  if (creating > 0 && alreadyCreated + creating > limits.maxNewLoadBalancers)
    throw new LimitError(
      'SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS',
      'loadBalancers[].create',
      `would create ${creating} load balancer(s) where this deployment has created ${alreadyCreated}; it may create ${limits.maxNewLoadBalancers} in all`,
    );
}
