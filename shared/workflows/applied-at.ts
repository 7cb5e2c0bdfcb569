// Replays across function instances. The nonce memory of the provisioning API is per instance, so the
// load balancer itself records the signed time of the last `/apply` that reached it: the tag
// `slb-autopilot:applied-at` = `<unix seconds>:<nonce>:<claim token>`. An `/apply` signed before the
// recorded time is refused (409), so an older signed request replayed later cannot undo a newer one, and
// so is the recorded request itself delivered again (same time and nonce). Two different requests signed
// in the same second both pass: seconds are the signature's resolution.
//
// Tags have no compare-and-swap, so the same signed request sent to three instances at once must not
// pass the check three times: each instance writes its claim (with a random token), waits for the other
// writes to land (`settle`, longer than one write's latency), and reads back. Only the instance whose
// claim is still there goes on; an instance that finds another claim answers 409. Checked claim, then
// write, then read-back: two instances both proceeding would need their writes further apart than the
// settle time, and then the later one's check already sees the earlier claim.
// Load balancers the apply creates get the claim as a tag at creation (`createTags`).

import { randomBytes } from 'node:crypto';
import type { SlbClient } from '../cloud/slb';
import type { LoadBalancer } from '../cloud/slb/load-balancers';
import type { Tag } from '../cloud/slb/wire';
import { chunk } from '../domain/batching';
import { findManagedLoadBalancer, type OwnershipMarker, ownedName } from '../domain/ownership';
import type { Spec } from '../domain/spec';
import { GuardRefusedError } from '../errors';

export const APPLIED_AT_TAG = 'slb-autopilot:applied-at';

/** The load balancer took an apply signed at or after this one, or another claim won: nothing written. */
export class AppliedAtConflict extends GuardRefusedError {
  override name = 'AppliedAtConflict';
  constructor(
    message: string,
    /** the load balancer whose record refused the request */
    readonly loadBalancerId: string,
  ) {
    super(message, { status: 409, code: 'Conflict' });
  }
}

export interface SignedRequest {
  /** the signed unix seconds */
  timestamp: number;
  nonce: string;
}

interface Record {
  timestamp: number;
  nonce: string;
  token: string;
}

function parseRecord(value: string | undefined): Record | undefined {
  const m = /^(\d{1,12}):([A-Za-z0-9_-]{1,64}):([0-9a-f]{1,32})$/.exec(value ?? '');
  return m ? { timestamp: Number(m[1]), nonce: m[2] as string, token: m[3] as string } : undefined;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const recordOf = (lb: LoadBalancer) => lb.tags.find((t) => t.key === APPLIED_AT_TAG)?.value;

export interface Claim {
  /** the tag to give load balancers this apply creates */
  createTags: Tag[];
  /** the existing load balancers now carrying this claim */
  loadBalancerIds: string[];
}

/** DescribeLoadBalancers takes at most 10 names per call (ids are chunked by the client). */
const NAMES_PER_CALL = 10;

/** The spec's existing load balancers: adopted ones by id, created ones by name (ours only). */
async function findExisting(slb: SlbClient, spec: Spec, ownership: OwnershipMarker): Promise<LoadBalancer[]> {
  const regionId = spec.region;
  const ids = spec.loadBalancers.flatMap((lb) => (lb.id ? [lb.id] : []));
  const names = spec.loadBalancers.flatMap((lb) => (lb.create ? [ownedName(ownership, lb.name)] : []));
  const found = await Promise.all([
    ids.length > 0 ? slb.describeLoadBalancers({ regionId, loadBalancerIds: ids }) : [],
    ...chunk(names, NAMES_PER_CALL).map((c) => slb.describeLoadBalancers({ regionId, loadBalancerNames: c })),
  ]);
  const all = found.flat();
  const seen = new Map<string, LoadBalancer>();
  for (const entry of spec.loadBalancers) {
    const lb = findManagedLoadBalancer(ownership, all, { id: entry.id, name: entry.name });
    if (lb) seen.set(lb.loadBalancerId, lb);
  }
  return [...seen.values()];
}

/** Refuses the request when a load balancer's record is this very request or a later one. */
function checkRecords(existing: readonly LoadBalancer[], signed: SignedRequest): void {
  for (const lb of existing) {
    const r = parseRecord(recordOf(lb));
    if (r && r.timestamp === signed.timestamp && r.nonce === signed.nonce)
      throw new AppliedAtConflict(
        `${lb.loadBalancerId}: this signed request was already applied (a replay); sign a new request`,
        lb.loadBalancerId,
      );
    if (r && r.timestamp > signed.timestamp)
      throw new AppliedAtConflict(
        `${lb.loadBalancerId}: a newer apply (signed at ${iso(r.timestamp)}) was already applied; this request was signed at ${iso(signed.timestamp)}: sign a new request`,
        lb.loadBalancerId,
      );
  }
}

/** Writes our claim, waits for concurrent claims to land, and refuses unless ours stands everywhere. */
async function claimAndConfirm(
  slb: SlbClient,
  regionId: string,
  loadBalancerIds: string[],
  tag: Tag,
  settle: () => Promise<void>,
): Promise<void> {
  await slb.tagResources({ regionId, resourceType: 'instance', resourceIds: loadBalancerIds, tags: [tag] });
  await settle();
  const after = await slb.describeLoadBalancers({ regionId, loadBalancerIds });
  for (const lb of after) {
    if (recordOf(lb) !== tag.value)
      throw new AppliedAtConflict(
        `${lb.loadBalancerId}: another apply claimed this load balancer at the same time; retry with a new signature`,
        lb.loadBalancerId,
      );
  }
}

/**
 * Checks the spec's existing load balancers' records against the signed request, then claims them.
 * Throws AppliedAtConflict (nothing written by the caller yet) when a record is at or after the request,
 * or when another claim won the race.
 */
export async function claimAppliedAt(
  slb: SlbClient,
  spec: Spec,
  signed: SignedRequest,
  settle: () => Promise<void>,
  ownership: OwnershipMarker,
): Promise<Claim> {
  const token = randomBytes(8).toString('hex');
  const tag = { key: APPLIED_AT_TAG, value: `${signed.timestamp}:${signed.nonce}:${token}` };
  const existing = await findExisting(slb, spec, ownership);
  checkRecords(existing, signed);
  if (existing.length === 0) return { createTags: [tag], loadBalancerIds: [] };
  const loadBalancerIds = existing.map((lb) => lb.loadBalancerId);
  await claimAndConfirm(slb, spec.region, loadBalancerIds, tag, settle);
  return { createTags: [tag], loadBalancerIds };
}
