// Ownership: what slb-autopilot may delete or reshape without the spec naming it. The marker is the
// deployer's (the function's configuration), never a caller's: a spec cannot set it. A resource is ours
// only when it carries the marker tag whose value names *this* deployment
// (`managed-by=slb-autopilot/<deploymentId>`), and, for what we name ourselves (load balancers,
// certificates), its name starts with the prefix. So a second deployment (another id) never deletes or
// reshapes what the first one created, and resources tagged by hand with some other key are never ours.
// Pure: no I/O.

export interface OwnershipMarker {
  /** the tag key (1-64 characters) */
  tagKey: string;
  /** `slb-autopilot/<deploymentId>`: the tag value that says "created by this deployment" */
  tagValue: string;
  /** prefix of the names we give load balancers and certificates */
  namePrefix: string;
  /** which deployment of slb-autopilot this is; distinct deployments must use distinct ids */
  deploymentId: string;
}

export const DEFAULT_OWNER_TAG_KEY = 'managed-by';
export const DEFAULT_NAME_PREFIX = 'slbap-';
export const DEFAULT_DEPLOYMENT_ID = 'default';
/** The tag value is `<this><deploymentId>`. */
export const OWNER_TAG_VALUE_PREFIX = 'slb-autopilot/';

/** SLB tag keys: 1-64 characters, not starting with `aliyun` or `acs:`, no `http(s)://`. */
export const TAG_KEY_PATTERN = /^(?!aliyun|acs:)(?!.*https?:\/\/).{1,64}$/i;
/** Names we prefix: a letter first, letters, digits and `-` (a CLB name is at most 80 characters). */
export const NAME_PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,19}$/;
/** 1-64 letters, digits, `.`, `_` or `-`: it goes into a tag value of at most 128 characters. */
export const DEPLOYMENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function ownershipMarker(
  o: { tagKey?: string; namePrefix?: string; deploymentId?: string } = {},
): OwnershipMarker {
  const deploymentId = o.deploymentId ?? DEFAULT_DEPLOYMENT_ID;
  return {
    tagKey: o.tagKey ?? DEFAULT_OWNER_TAG_KEY,
    tagValue: `${OWNER_TAG_VALUE_PREFIX}${deploymentId}`,
    namePrefix: o.namePrefix ?? DEFAULT_NAME_PREFIX,
    deploymentId,
  };
}

/** The marker of a deployment that sets nothing: `managed-by=slb-autopilot/default`, names `slbap-…`. */
export const DEFAULT_OWNERSHIP: OwnershipMarker = ownershipMarker();

/** The tags that mark a resource as created by this deployment. */
export function markerTags(m: OwnershipMarker): { key: string; value: string }[] {
  return [{ key: m.tagKey, value: m.tagValue }];
}

/** The name we give a resource the spec calls `name` (load balancers). */
export function ownedName(m: OwnershipMarker, name: string): string {
  return `${m.namePrefix}${name}`;
}

/**
 * Ours: carries this deployment's marker tag and, when the resource has a name we gave it, the prefix.
 * A name prefix alone is never enough (anyone can type `slbap-` in the console).
 */
export function isOwned(
  m: OwnershipMarker,
  tags: readonly { key: string; value: string }[] | undefined,
  name?: string,
): boolean {
  const tagged = (tags ?? []).some((t) => t.key === m.tagKey && t.value === m.tagValue);
  return tagged && (name === undefined || name.startsWith(m.namePrefix));
}

/**
 * The load balancer a spec entry names among `all`: an adopted one by its id; one we create by our name
 * for it and this deployment's marker (a load balancer of that name that another deployment or a person
 * made is not ours).
 */
export function findManagedLoadBalancer<
  L extends {
    loadBalancerId: string;
    loadBalancerName: string;
    tags?: readonly { key: string; value: string }[];
  },
>(m: OwnershipMarker, all: readonly L[], entry: { id?: string | undefined; name: string }): L | undefined {
  if (entry.id) return all.find((x) => x.loadBalancerId === entry.id);
  const name = ownedName(m, entry.name);
  return all.find((x) => x.loadBalancerName === name && isOwned(m, x.tags, x.loadBalancerName));
}
