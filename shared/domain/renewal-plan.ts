// Renewal's decisions, pure: which reference is due and what replaces it, which switches an earlier run
// left in flight and how to finish them, the CA's rate-limit wait on a load balancer, how the switches of
// one load balancer are cut into batches its tag quota can mark, and which old certificates may go.
// The workflow (workflows/cert-renewal.ts) reads the cloud, asks these functions, and runs what they
// return through the one executor: every action here is plan data with its reason.
//
// The inputs are plain shapes, not the cloud's types: the domain imports no SDK and no workflow.

import {
  ACME_RETRY_AFTER_TAG,
  acmeRetryAfter,
  ariDecision,
  type RenewalWindow,
  rateLimitWaiting,
} from './acme-renewal';
import { chunk } from './batching';
import { sameFingerprint } from './keys';
import { isOwned, type OwnershipMarker } from './ownership';
import { answeredByExtensionDomain, parseRotationMarkers, type RotationMarker, renewalDue } from './renewal';

/** On an old certificate we own: when a verified rotation replaced it (its grace period starts then). */
export const REPLACED_AT_TAG = 'slb-autopilot:replaced-at';
/** SLB: server certificates per region */
export const CERTIFICATE_QUOTA = 100;
/** warn this many below the quota */
export const QUOTA_MARGIN = 10;
/** SLB: at most 20 tags per resource (reference §5, "Tag rules") */
export const TAGS_PER_RESOURCE = 20;
/** left free on a load balancer for tags others write while we rotate (the write lease, ...) */
export const TAGS_RESERVED = 2;
/** a rotation marker is two tags (renewal.ts) */
export const MARKER_TAGS = 2;
const DAY_MS = 86_400_000;

type Tags = readonly { key: string; value: string }[];

/** What every action of a plan has (the executor's `PlannedAction`, restated: the domain imports no workflow). */
interface PlannedAction {
  id: string;
  kind: string;
  reason: string;
}

/** What a reference ended as, in its report. */
export type ReferenceAction =
  | 'notDue'
  | 'rotated'
  | 'wouldRotate'
  | 'rolledBack'
  | 'noReplacement'
  | 'pinned'
  | 'failed';

// ---- due-ness ------------------------------------------------------------------------------------

export interface DueInput {
  expiresMs: number;
  /** when the certificate's life started (CAS's record, else the upload time), if known */
  issuedMs: number | undefined;
  nowMs: number;
  renewBeforeDays: number;
  /** the CA's renewal window (ARI), when it offered one: it wins over our rule */
  ariWindow?: RenewalWindow;
}

export function dueness(input: DueInput): { due: boolean; why: string } {
  if (input.ariWindow) {
    const a = ariDecision(input.ariWindow, new Date(input.nowMs));
    return { due: a.due, why: a.reason };
  }
  return renewalDue(input.expiresMs, input.issuedMs, input.nowMs, input.renewBeforeDays);
}

/**
 * The ARI id to ask the CA about, when its window may decide: an issued (`acme`) source, a certificate
 * carrying the id we tagged it with, and not yet expired (an expired one is due whatever the CA says).
 */
export function ariIdToAsk(
  issued: boolean,
  current: { expireTimeStamp: number; tags: Tags } | undefined,
  ariTag: string,
  nowMs: number,
): string | undefined {
  if (!issued || !current || current.expireTimeStamp <= nowMs) return undefined;
  return current.tags.find((t) => t.key === ariTag)?.value || undefined;
}

// ---- what a due reference gets -----------------------------------------------------------------------

export type SourceKind = 'pinned' | 'acme' | 'other';

export type ReferenceDecision =
  | { kind: 'notDue'; why: string }
  /** the spec names an SLB certificate id: only the spec can change it */
  | { kind: 'pinned'; why: string }
  /** an ACME order on this load balancer hit the CA's rate limit; no order before `until` */
  | { kind: 'waitForRateLimit'; why: string; until: Date; error: string }
  /** look for (or issue) a replacement; `dangling`: the bound certificate is not in the region */
  | { kind: 'findReplacement'; why: string; dangling: boolean };

export interface ReferenceInput {
  loadBalancerId: string;
  /** undefined when the bound certificate is not in the region (always due) */
  due: { due: boolean; why: string } | undefined;
  sourceKind: SourceKind;
  /** the load balancer's tags (the rate-limit wait) */
  loadBalancerTags: Tags;
  now: Date;
}

export function decideReference(input: ReferenceInput): ReferenceDecision {
  const due = input.due ?? { due: true, why: 'the referenced certificate is not in the region' };
  if (!due.due) return { kind: 'notDue', why: due.why };
  if (input.sourceKind === 'pinned')
    return {
      kind: 'pinned',
      why: `${due.why}; the spec pins this reference to an SLB certificate id: update the spec`,
    };
  const until = acmeRetryAfter(input.loadBalancerTags);
  if (input.sourceKind === 'acme' && until && rateLimitWaiting(until, input.now))
    return {
      kind: 'waitForRateLimit',
      why: due.why,
      until,
      error: `the ACME CA's rate limit: not issuing before ${until.toISOString()} (${ACME_RETRY_AFTER_TAG} on ${input.loadBalancerId})`,
    };
  return { kind: 'findReplacement', why: due.why, dangling: input.due === undefined };
}

export interface Candidate {
  fingerprint: string;
  commonName: string;
  notAfter: Date;
  /** issued for this run: what the CA wants served, even early (ARI) */
  issuedNow?: boolean;
}

/** Whether the best candidate may replace what is bound: another certificate, expiring later unless just issued. */
export function replacementVerdict(
  current: { fingerprint: string; expireTimeStamp: number } | undefined,
  candidate: Candidate,
): { ok: true } | { ok: false; reason: string } {
  if (
    current &&
    (sameFingerprint(candidate.fingerprint, current.fingerprint) ||
      (!candidate.issuedNow && candidate.notAfter.getTime() <= current.expireTimeStamp))
  )
    return {
      ok: false,
      reason: `the best replacement (${candidate.commonName}, expires ${candidate.notAfter.toISOString().slice(0, 10)}) does not expire later than the current certificate`,
    };
  return { ok: true };
}

// ---- the CA's rate-limit wait on a load balancer ------------------------------------------------------

export interface LoadBalancerTags {
  loadBalancerId: string;
  tags: Tags;
}

export type RetryAfterAction = PlannedAction &
  (
    | { kind: 'untagRetryAfter'; loadBalancerId: string }
    | { kind: 'tagRetryAfter'; loadBalancerId: string; until: Date; adds: boolean }
  );

/**
 * The CA's retry time goes on the load balancer, so the next runs wait for it instead of asking daily;
 * a wait that is over, with no new one, goes. A load balancer without room for the tag is warned about.
 */
export function planRetryAfterTags(
  loadBalancers: readonly LoadBalancerTags[],
  rateLimited: ReadonlyMap<string, Date>,
  now: Date,
): { actions: RetryAfterAction[]; warnings: string[] } {
  const actions: RetryAfterAction[] = [];
  const warnings: string[] = [];
  for (const lb of loadBalancers) {
    const until = acmeRetryAfter(lb.tags);
    if (!until || rateLimitWaiting(until, now) || rateLimited.has(lb.loadBalancerId)) continue;
    actions.push({
      kind: 'untagRetryAfter',
      id: `untagRetryAfter:${lb.loadBalancerId}`,
      reason: `the CA's rate-limit wait until ${until.toISOString()} is over`,
      loadBalancerId: lb.loadBalancerId,
    });
  }
  for (const [loadBalancerId, until] of rateLimited) {
    const tags = loadBalancers.find((l) => l.loadBalancerId === loadBalancerId)?.tags ?? [];
    const had = tags.some((t) => t.key === ACME_RETRY_AFTER_TAG);
    if (!had && tags.length >= TAGS_PER_RESOURCE - TAGS_RESERVED) {
      warnings.push(`${loadBalancerId}: no room for ${ACME_RETRY_AFTER_TAG}; the next run asks the CA again`);
      continue;
    }
    actions.push({
      kind: 'tagRetryAfter',
      id: `tagRetryAfter:${loadBalancerId}`,
      reason: `the CA's rate limit: its orders wait until ${until.toISOString()}`,
      loadBalancerId,
      until,
      adds: !had,
    });
  }
  return { actions, warnings };
}

/** The tag value: unix seconds, rounded up so the wait is never shorter than the CA asked. */
export const retryAfterTagValue = (until: Date): string => String(Math.ceil(until.getTime() / 1000));

/** How a tag action changes the load balancer's tag count once written. */
export const tagDelta = (a: RetryAfterAction): number => (a.kind === 'untagRetryAfter' ? -1 : a.adds ? 1 : 0);

/** Latest wins: a later retry time from another order on the same load balancer replaces an earlier. */
export function noteRetryAfter(waits: Map<string, Date>, loadBalancerId: string, until: Date): void {
  const later = waits.get(loadBalancerId);
  if (!later || later < until) waits.set(loadBalancerId, until);
}

// ---- batching the switches of one load balancer by its free tag room -----------------------------------

/** How many markers (two tags each) still fit on a load balancer that holds `tagsInUse` tags. */
export const markerRoom = (tagsInUse: number): number =>
  Math.max(0, Math.floor((TAGS_PER_RESOURCE - TAGS_RESERVED - tagsInUse) / MARKER_TAGS));

/**
 * One load balancer's switches in batches its tag quota can mark at once (one marker write and one unmark
 * per batch); with no room at all, none can be marked (`noRoom`), so none is switched.
 */
export function batchByTagRoom<T>(items: readonly T[], tagsInUse: number): { batches: T[][]; noRoom: T[] } {
  const room = markerRoom(tagsInUse);
  if (room < 1) return { batches: [], noRoom: [...items] };
  return { batches: chunk(items, room), noRoom: [] };
}

export const noRoomReason = (loadBalancerId: string): string =>
  `no room for the rotation marker on ${loadBalancerId} (${TAGS_PER_RESOURCE} tags at most)`;

export const NOT_SETTLED_REASON =
  'an earlier switch of this reference is not settled yet (see `markers`): not rotated';

export interface SwitchBatch {
  loadBalancerId: string;
  /** in plan order; one marker write before the first bind, one unmark after the last */
  referenceIds: string[];
}

/**
 * The switches of each load balancer (in first-seen order) in batches its free tag room can mark. A
 * reference whose earlier switch is still unsettled keeps its place in its batch but is not switched,
 * and a load balancer without room switches nothing: both are refused, with the reason.
 */
export function planSwitchBatches(
  switches: readonly { referenceId: string; loadBalancerId: string }[],
  tagsInUse: (loadBalancerId: string) => number,
  unsettled: ReadonlySet<string>,
): { batches: SwitchBatch[]; refused: { referenceId: string; reason: string }[] } {
  const byLoadBalancer = new Map<string, string[]>();
  for (const s of switches)
    byLoadBalancer.set(s.loadBalancerId, [...(byLoadBalancer.get(s.loadBalancerId) ?? []), s.referenceId]);
  const batches: SwitchBatch[] = [];
  const refused: { referenceId: string; reason: string }[] = [];
  for (const [loadBalancerId, ids] of byLoadBalancer) {
    const cut = batchByTagRoom(ids, tagsInUse(loadBalancerId));
    for (const referenceId of cut.noRoom) refused.push({ referenceId, reason: noRoomReason(loadBalancerId) });
    for (const batch of cut.batches) {
      for (const referenceId of batch.filter((id) => unsettled.has(id)))
        refused.push({ referenceId, reason: NOT_SETTLED_REASON });
      const referenceIds = batch.filter((id) => !unsettled.has(id));
      if (referenceIds.length > 0) batches.push({ loadBalancerId, referenceIds });
    }
  }
  return { batches, refused };
}

// ---- switches an earlier run left in flight ---------------------------------------------------------

export interface MarkedReference {
  id: string;
  loadBalancerId: string;
  /** the listener port or the domain extension id (renewal.ts `markerRef`) */
  markerRef: string;
  /** what is bound now */
  serverCertificateId: string;
}

export type DropOutcome = 'referenceGone' | 'changedElsewhere' | 'broken';

export type MarkerAction = PlannedAction & {
  loadBalancerId: string;
  marker: RotationMarker;
  /** the reference's id when it still exists, else `<lb>:<port or domain extension id>` */
  referenceId: string;
} & (
    | { kind: 'resumeMarker' /** what is bound now */; bound: 'target' | 'previous' }
    | { kind: 'dropMarker'; outcome: DropOutcome }
  );

const DROP_REASON: Record<DropOutcome, string> = {
  referenceGone: 'the reference is gone: nothing to finish',
  changedElsewhere: 'another certificate was bound since: theirs to keep, not ours to roll back',
  broken: 'half a marker names no switch that can be finished',
};

/**
 * For every marker on a load balancer that serves `references`: finish the switch (verify what is bound,
 * or roll back), or only remove the marker when there is nothing to finish.
 */
export function planMarkers(
  loadBalancers: readonly LoadBalancerTags[],
  references: readonly MarkedReference[],
): MarkerAction[] {
  const managed = new Set(references.map((r) => r.loadBalancerId));
  const out: MarkerAction[] = [];
  for (const lb of loadBalancers) {
    if (!managed.has(lb.loadBalancerId)) continue;
    const { markers, broken } = parseRotationMarkers(lb.tags);
    const found: [RotationMarker, MarkedReference | undefined][] = markers.map((m) => [
      m,
      references.find((r) => r.loadBalancerId === lb.loadBalancerId && r.markerRef === m.ref),
    ]);
    for (const ref of broken) found.push([{ ref, from: '', to: '', at: 0 }, undefined]);
    for (const [marker, ref] of found) {
      const base = {
        id: `marker:${lb.loadBalancerId}:${marker.ref}`,
        loadBalancerId: lb.loadBalancerId,
        marker,
        referenceId: ref?.id ?? `${lb.loadBalancerId}:${marker.ref}`,
      };
      const bound = ref?.serverCertificateId;
      const drop: DropOutcome | undefined = !ref
        ? broken.includes(marker.ref)
          ? 'broken'
          : 'referenceGone'
        : bound !== marker.to && bound !== marker.from
          ? 'changedElsewhere'
          : undefined;
      if (drop) out.push({ ...base, kind: 'dropMarker', outcome: drop, reason: DROP_REASON[drop] });
      else
        out.push({
          ...base,
          kind: 'resumeMarker',
          bound: bound === marker.to ? 'target' : 'previous',
          reason:
            bound === marker.to
              ? `${marker.to} is bound: verify it, or roll back to ${marker.from}`
              : `${marker.from} is still bound: verify it, binding it again if it does not verify`,
        });
    }
  }
  return out;
}

// ---- what may be deleted, and when ---------------------------------------------------------------

export interface ReferenceOutcome {
  action: ReferenceAction;
  before: string | undefined;
  after: string | undefined;
}

/**
 * Every certificate something may still serve: what each reference holds after this run (a failed one
 * may hold either: a rollback that did not complete), both ends of every unsettled marker, and whatever
 * load balancers outside the spec bind.
 */
export function referencedCertificates(
  references: readonly ReferenceOutcome[],
  unsettledMarkers: readonly { from: string; to: string }[],
  elsewhere: readonly string[],
): Set<string> {
  const out = new Set<string>();
  for (const r of references) {
    if (r.action === 'rotated') out.add(r.after ?? '');
    else {
      out.add(r.before ?? '');
      if (r.action === 'failed') out.add(r.after ?? '');
    }
  }
  for (const m of unsettledMarkers) out.add(m.from).add(m.to);
  for (const id of elsewhere) out.add(id);
  return out;
}

export interface RegionCertificate {
  serverCertificateId: string;
  serverCertificateName: string;
  expireTimeStamp: number;
  tags: Tags;
}

export type DeleteAction = PlannedAction & { kind: 'deleteCertificate'; serverCertificateId: string };

export interface KeptCertificate {
  serverCertificateId: string;
  name: string;
  why: string;
}

/**
 * Delete an old certificate only when we own it, nothing references it, and either its replacement was
 * verified (our replaced-at tag) and the grace period has passed, or it has expired.
 */
export function planDeletions(input: {
  certificates: readonly RegionCertificate[];
  ownership: OwnershipMarker;
  referenced: ReadonlySet<string>;
  nowMs: number;
  gracePeriodDays: number;
}): { actions: DeleteAction[]; kept: KeptCertificate[] } {
  const actions: DeleteAction[] = [];
  const kept: KeptCertificate[] = [];
  const grace = input.gracePeriodDays;
  for (const c of input.certificates) {
    const id = c.serverCertificateId;
    if (!isOwned(input.ownership, c.tags, c.serverCertificateName) || input.referenced.has(id)) continue;
    const replacedAt = c.tags.find((t) => t.key === REPLACED_AT_TAG)?.value;
    const expired = c.expireTimeStamp <= input.nowMs;
    const graceOver = replacedAt !== undefined && input.nowMs - Date.parse(replacedAt) >= grace * DAY_MS;
    if (expired || graceOver)
      actions.push({
        kind: 'deleteCertificate',
        id: `delete:${id}`,
        serverCertificateId: id,
        reason: expired
          ? 'ours, unreferenced, expired'
          : `ours, unreferenced, replaced ${replacedAt?.slice(0, 10)}: grace period of ${grace} days over`,
      });
    else
      kept.push({
        serverCertificateId: id,
        name: c.serverCertificateName,
        why: replacedAt
          ? `grace period of ${grace} days since ${replacedAt.slice(0, 10)}`
          : 'not replaced by a verified rotation (no replaced-at tag)',
      });
  }
  return { actions, kept };
}

/** The warning near the region's certificate quota, when `count` certificates are left. */
export function quotaWarning(regionId: string, count: number): string | undefined {
  return count >= CERTIFICATE_QUOTA - QUOTA_MARGIN
    ? `${regionId} holds ${count} of ${CERTIFICATE_QUOTA} server certificates: near the quota`
    : undefined;
}

// ---- what a verification handshakes -------------------------------------------------------------------

export interface HandshakeName {
  domain: string;
  /** SNI; absent: a handshake without SNI (reaches the default certificate) */
  servername?: string;
  /** not checked here, and why */
  skip?: string;
}

/**
 * The handshakes that prove a reference's certificate is served. A wildcard is checked on a name it
 * covers. A name one of the listener's extension domains answers never shows the default certificate:
 * checking it there would fail every switch and every rollback, and leave the marker for good. When
 * every name is such, a handshake without SNI reaches the default certificate.
 */
export function handshakeNames(
  domains: readonly string[],
  extensionDomains: readonly string[],
): HandshakeName[] {
  const names: HandshakeName[] = domains.map((domain) => {
    const servername = domain.startsWith('*.') ? `check${domain.slice(1)}` : domain;
    return answeredByExtensionDomain(servername, extensionDomains)
      ? { domain, servername, skip: 'answered by its extension domain: not checked here' }
      : { domain, servername };
  });
  if (names.every((n) => n.skip)) names.push({ domain: '(no SNI)' });
  return names;
}
