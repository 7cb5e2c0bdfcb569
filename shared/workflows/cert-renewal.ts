// Certificate renewal and zero-downtime rotation.
//   discover  every certificate a managed load balancer serves (listener default, extension domains),
//             facts from SLB's certificate record (certificates-in-use.ts)
//   decide    due when it expires within renewBeforeDays or has used more than two thirds of its
//             lifetime; the replacement is the spec's source for that reference (a PEM pair, a pinned
//             CAS id) or else the valid CAS certificate with the latest expiry covering every domain
//             the reference serves; it must expire later than the current one
//   upload    once per certificate per region (reused by fingerprint), named and tagged as ours
//   switch    only the due references: the listener's default certificate (a partial update of that one
//             attribute) or the extension domain's
//   verify    a real TLS handshake with SNI for each domain. Each switch is a paired step
//             (paired-step.ts): marker tags on the load balancer first (one write for a batch of its
//             references), then per reference the bind, its verify and its rollback, so any failure
//             after the bind (a throw, a TLS error, a failed write, a timeout) binds the previous
//             certificate again and verifies that; the markers go once the batch is settled
//   markers   a run that died between bind and verify left its marker: the next run finishes that
//             switch first (verify what is bound, or roll back), before deciding anything
//   clean up  delete an old certificate only when we own it, nothing in the region references it, its
//             replacement was verified (it carries our replaced-at tag) and the grace period has
//             passed, or it has expired; warn near the 100-certificate quota
// Dry run: the same decisions and report, no writes and no handshakes.

import type { CasClient } from '../cloud/cas';
import { CloudError } from '../cloud/errors';
import type { ListenerAddressResolver } from '../cloud/listener-address';
import type { SlbClient } from '../cloud/slb';
import type { ServerCertificate } from '../cloud/slb/certificates';
import type { Tag } from '../cloud/slb/wire';
import type { ServedCertificateCheck, WaitForServedCertificateRequest } from '../cloud/tls-probe';
import {
  ACME_ARI_ID_TAG,
  ACME_RETRY_AFTER_TAG,
  acmeRetryAfter,
  ariDecision,
  rateLimitWaiting,
} from '../domain/acme-renewal';
import { isOwned, type OwnershipMarker } from '../domain/ownership';
import {
  answeredByExtensionDomain,
  markerRef,
  parseRotationMarkers,
  type RotationMarker,
  renewalDue,
  rotationMarkerKeys,
  rotationMarkerTags,
} from '../domain/renewal';
import { acmeDirectoryOf, type Spec } from '../domain/spec';
import { type ErrorReport, errorReport } from '../errors';
import {
  type AcmeIssuer,
  type CertificateFacts,
  CertificateSourceError,
  type Commit,
  createCertificateResolver,
} from './certificate-source';
import {
  type CertificateReference,
  type CertificatesInUse,
  findCertificatesInUse,
} from './certificates-in-use';
import { type LeaseOptions, LeaseUnavailableError, withLoadBalancerLeases } from './lease';
import { type Check, type PairedOutcome, type PairedStep, resumePaired, runPairedBatch } from './paired-step';

export const REPLACED_AT_TAG = 'slb-autopilot:replaced-at';
export const CERTIFICATE_QUOTA = 100;
/** SLB: at most 20 tags per resource (reference §5, "Tag rules") */
const TAGS_PER_RESOURCE = 20;
/** left free on a load balancer for tags others write while we rotate (the write lease, ...) */
const TAGS_RESERVED = 2;
const DAY_MS = 86_400_000;

export interface RenewalDeps {
  slb: SlbClient;
  cas: CasClient;
  now: () => Date;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  listenerAddress: ListenerAddressResolver;
  verify: (req: WaitForServedCertificateRequest) => Promise<ServedCertificateCheck>;
  /** this deployment's marker: what it uploads carries it, and only what carries it is deleted */
  ownership: OwnershipMarker;
  /** the per-load-balancer writer lease (default DEFAULT_LEASE) */
  lease?: LeaseOptions;
  sleep?: (ms: number) => Promise<void>;
  /** issues `acme` sources (absent: they fail, named) */
  acme?: AcmeIssuer;
}

export interface RenewalOptions {
  dryRun?: boolean;
  /** handshakes per domain while waiting for propagation (default 5) */
  verifyAttempts?: number;
  /** between handshakes (default 2000 ms) */
  verifyDelayMs?: number;
  /** bound on one reference's verification; longer counts as failed (default: the handshakes' own) */
  verifyTimeoutMs?: number;
}

interface CertificateSummary {
  serverCertificateId?: string;
  commonName?: string;
  expires?: string;
  fingerprint?: string;
}

export type ReferenceAction =
  | 'notDue'
  | 'rotated'
  | 'wouldRotate'
  | 'rolledBack'
  | 'noReplacement'
  | 'pinned'
  | 'failed';

export interface ReferenceReport {
  reference: string;
  kind: CertificateReference['kind'];
  domains: string[];
  due: boolean;
  why: string;
  action: ReferenceAction;
  before: CertificateSummary;
  after?: CertificateSummary;
  verification?: Verification;
  error?: string;
  /** what failed first: phase, message, code, and its causes */
  failure?: ErrorReport;
  /** what failed while restoring the previous certificate */
  rollbackFailure?: ErrorReport;
}

type Verification = { domain: string; result: string }[];

/** A switch an earlier run left in flight (its marker), and how this run settled it. */
export interface MarkerReport {
  loadBalancerId: string;
  /** the reference's id when it still exists, else `<lb>:<port or domain extension id>` */
  reference: string;
  from: string;
  to: string;
  at: string;
  outcome:
    | 'verified'
    | 'rolledBack'
    | 'previousVerified'
    | 'unsettled'
    | 'referenceGone'
    | 'changedElsewhere'
    | 'broken'
    | 'wouldSettle';
  settled: boolean;
  verification?: Verification;
  failure?: ErrorReport;
  rollbackFailure?: ErrorReport;
}

export interface RenewalReport {
  at: string;
  dryRun: boolean;
  regionId: string;
  references: ReferenceReport[];
  /** switches earlier runs left in flight, settled first */
  markers: MarkerReport[];
  uploaded: string[];
  deleted: string[];
  /** old certificates kept, and why */
  kept: { serverCertificateId: string; name: string; why: string }[];
  warnings: string[];
  failed: boolean;
}

const summary = (c: ServerCertificate | undefined, id: string): CertificateSummary => ({
  serverCertificateId: id,
  ...(c
    ? {
        commonName: c.commonName,
        expires: new Date(c.expireTimeStamp).toISOString(),
        fingerprint: c.fingerprint,
      }
    : {}),
});
const factsSummary = (f: CertificateFacts, id?: string): CertificateSummary => ({
  ...(id ? { serverCertificateId: id } : {}),
  commonName: f.commonName,
  expires: f.notAfter.toISOString(),
  fingerprint: f.fingerprint,
});

/**
 * Renewal holding the writer lease of every load balancer it serves certificates on
 * (shared/workflows/lease.ts): a manual rotation and the daily timer, or an apply, never interleave,
 * and a run never settles a switch another run still has in flight. A dry run writes nothing and
 * takes no lease. When another writer holds one past the wait, the run reports that and changes nothing.
 */
export async function runCertRenewal(
  deps: RenewalDeps,
  spec: Spec,
  options: RenewalOptions = {},
): Promise<RenewalReport> {
  if (options.dryRun) return renew(deps, spec, options);
  // Decide first without writing: a run with nothing to do takes no lease and writes nothing.
  const preview = await renew(deps, spec, { ...options, dryRun: true });
  const work =
    preview.references.some((r) => r.action === 'wouldRotate') ||
    preview.markers.length > 0 ||
    preview.deleted.length > 0;
  if (!work) return { ...preview, dryRun: false };
  const ids = [...new Set(preview.references.map((r) => r.reference.split(/[:/]/)[0] ?? ''))];
  let holding = false;
  try {
    return await withLoadBalancerLeases(
      { ...deps, regionId: spec.region },
      ids,
      `renewal@${deps.ownership.deploymentId}`,
      (leases) => {
        holding = true;
        // Decided again holding the leases: another run may have rotated meanwhile.
        return renew(deps, spec, options, async () => {
          for (const l of leases) await l.checkpoint();
        });
      },
    );
  } catch (err) {
    // Not holding the leases (another writer has one, or claiming failed on a cloud error): nothing written.
    if (holding || !(err instanceof LeaseUnavailableError || err instanceof CloudError)) throw err;
    return {
      at: deps.now().toISOString(),
      dryRun: false,
      regionId: spec.region,
      references: [],
      markers: [],
      uploaded: [],
      deleted: [],
      kept: [],
      warnings: [err.message],
      failed: true,
    };
  }
}

async function renew(
  deps: RenewalDeps,
  spec: Spec,
  options: RenewalOptions,
  /** before each batch of writes: renews the leases when due, throws when one was lost */
  checkpoint: () => Promise<void> = async () => {},
): Promise<RenewalReport> {
  const now = deps.now();
  const dryRun = options.dryRun ?? false;
  const { slb } = deps;
  let inUse = await findCertificatesInUse(slb, spec, deps.ownership);
  const regionId = inUse.regionId;
  const report: RenewalReport = {
    at: now.toISOString(),
    dryRun,
    regionId,
    references: [],
    markers: [],
    uploaded: [],
    deleted: [],
    kept: [],
    warnings: [],
    failed: false,
  };
  if (inUse.references.length === 0) return report;
  // Finish what an earlier run left in flight before deciding anything, then read again what it changed.
  const unsettled = new Set<string>();
  if (await settleMarkers(deps, options, inUse, now, report, unsettled))
    inUse = await findCertificatesInUse(slb, spec, deps.ownership);
  const resolver = createCertificateResolver({ ...deps, regionId, issue: !dryRun });
  // CAS's record of a certificate gives its real start; SLB's only the upload time.
  const cas = await resolver.casCertificates().catch(() => []);
  const issued = (fp: string | undefined) =>
    cas.find(
      (c) =>
        c.fingerprint &&
        fp &&
        c.fingerprint.toLowerCase().replace(/:/g, '') === fp.toLowerCase().replace(/:/g, ''),
    )?.notBefore;

  // Decide every reference before writing anything.
  const plans: { ref: CertificateReference; report: ReferenceReport; commit?: Commit }[] = [];
  const lbTags = (id: string) => inUse.loadBalancers.find((l) => l.loadBalancerId === id)?.tags ?? [];
  /** load balancers whose ACME orders hit the CA's rate limit in this run, and until when */
  const rateLimited = new Map<string, Date>();
  for (const ref of inUse.references) {
    const c = ref.current;
    const r: ReferenceReport = {
      reference: ref.id,
      kind: ref.kind,
      domains: ref.domains,
      due: false,
      why: '',
      action: 'notDue',
      before: summary(c, ref.serverCertificateId),
    };
    report.references.push(r);
    if (!c) {
      Object.assign(r, {
        due: true,
        why: 'the referenced certificate is not in the region',
        action: 'noReplacement',
      });
    } else {
      let d = renewalDue(
        c.expireTimeStamp,
        issued(c.fingerprint) ?? c.createTimeStamp,
        now.getTime(),
        spec.renewal.renewBeforeDays,
      );
      // An issued certificate: the CA's renewal window (ARI), when it offers one, wins over our rule.
      const ariId = c.tags.find((t) => t.key === ACME_ARI_ID_TAG)?.value;
      if (
        ref.source &&
        'acme' in ref.source &&
        ariId &&
        deps.acme?.renewalInfo &&
        c.expireTimeStamp > now.getTime()
      ) {
        const info = await deps.acme.renewalInfo(acmeDirectoryOf(ref.source.acme), ariId);
        if (info) {
          const a = ariDecision(info.window, now);
          d = { due: a.due, why: a.reason };
        }
      }
      r.due = d.due;
      r.why = d.why;
      if (!d.due) continue;
    }
    if (ref.source && 'serverCertificateId' in ref.source) {
      r.action = 'pinned';
      r.why += '; the spec pins this reference to an SLB certificate id: update the spec';
      continue;
    }
    const source = ref.source ?? { cas: { domain: ref.domains[0] ?? c?.commonName ?? '' } };
    const waitUntil = acmeRetryAfter(lbTags(ref.loadBalancerId));
    if ('acme' in source && waitUntil && rateLimitWaiting(waitUntil, now)) {
      r.action = 'noReplacement';
      r.error = `the ACME CA's rate limit: not issuing before ${waitUntil.toISOString()} (${ACME_RETRY_AFTER_TAG} on ${ref.loadBalancerId})`;
      continue;
    }
    try {
      // Issuing can take minutes (propagation, validation): the leases are renewed first when due.
      if ('acme' in source && !dryRun) await checkpoint();
      const commit = await resolver.prepare(source, ref.domains, `${ref.id}.certificate`);
      if (commit.wouldIssue) {
        r.why += `; ${commit.wouldIssue}`;
        r.after = { commonName: commit.facts.commonName };
        r.action = 'wouldRotate';
        continue;
      }
      if (
        c &&
        (commit.facts.fingerprint === c.fingerprint.toLowerCase() ||
          // A certificate issued for this run is what the CA wants served (ARI may ask for it early).
          (!commit.issuedNow && commit.facts.notAfter.getTime() <= c.expireTimeStamp))
      ) {
        r.action = 'noReplacement';
        r.error = `the best replacement (${commit.facts.commonName}, expires ${commit.facts.notAfter.toISOString().slice(0, 10)}) does not expire later than the current certificate`;
        continue;
      }
      r.after = factsSummary(commit.facts);
      r.action = dryRun ? 'wouldRotate' : 'rotated';
      plans.push({ ref, report: r, commit });
    } catch (err) {
      if (!(err instanceof CertificateSourceError)) throw err;
      r.action = 'noReplacement';
      r.error = err.message;
      if (err.retryAfter) {
        fail(report, r, `${err.message}; the CA says retry after ${err.retryAfter.toISOString()}`, err);
        const later = rateLimited.get(ref.loadBalancerId);
        if (!later || later < err.retryAfter) rateLimited.set(ref.loadBalancerId, err.retryAfter);
      }
    }
  }
  // The CA's retry time goes on the load balancer, so the next runs wait for it instead of asking daily.
  const tagsAdded = new Map<string, number>();
  // A wait that is over, and no new one: its tag goes (the orders went through or were not limited).
  if (!dryRun)
    for (const lb of inUse.loadBalancers) {
      const until = acmeRetryAfter(lb.tags);
      if (!until || rateLimitWaiting(until, now) || rateLimited.has(lb.loadBalancerId)) continue;
      try {
        await checkpoint();
        await slb.untagResources({
          regionId,
          resourceType: 'instance',
          resourceIds: [lb.loadBalancerId],
          tagKeys: [ACME_RETRY_AFTER_TAG],
        });
        tagsAdded.set(lb.loadBalancerId, -1);
      } catch (err) {
        report.warnings.push(
          `${lb.loadBalancerId}: could not remove ${ACME_RETRY_AFTER_TAG}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  if (!dryRun)
    for (const [loadBalancerId, until] of rateLimited) {
      const tags = lbTags(loadBalancerId);
      const had = tags.some((t) => t.key === ACME_RETRY_AFTER_TAG);
      if (!had && tags.length >= TAGS_PER_RESOURCE - TAGS_RESERVED) {
        report.warnings.push(
          `${loadBalancerId}: no room for ${ACME_RETRY_AFTER_TAG}; the next run asks the CA again`,
        );
        continue;
      }
      try {
        await checkpoint();
        await slb.tagResources({
          regionId,
          resourceType: 'instance',
          resourceIds: [loadBalancerId],
          tags: [{ key: ACME_RETRY_AFTER_TAG, value: String(Math.ceil(until.getTime() / 1000)) }],
        });
        if (!had) tagsAdded.set(loadBalancerId, 1);
      } catch (err) {
        report.warnings.push(
          `${loadBalancerId}: could not record the CA's retry time: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }

  if (!dryRun) {
    // One load balancer at a time, its references in batches that fit its tag quota: one marker write
    // and one unmark write per batch, one paired step (bind, verify, rollback) per reference.
    const byLoadBalancer = new Map<string, typeof plans>();
    for (const p of plans)
      byLoadBalancer.set(p.ref.loadBalancerId, [...(byLoadBalancer.get(p.ref.loadBalancerId) ?? []), p]);
    for (const [loadBalancerId, queue] of byLoadBalancer) {
      let tagsInUse = lbTags(loadBalancerId).length + (tagsAdded.get(loadBalancerId) ?? 0);
      while (queue.length > 0) {
        await checkpoint();
        const room = Math.floor((TAGS_PER_RESOURCE - TAGS_RESERVED - tagsInUse) / 2);
        if (room < 1) {
          for (const p of queue.splice(0))
            fail(
              report,
              p.report,
              `no room for the rotation marker on ${loadBalancerId} (${TAGS_PER_RESOURCE} tags at most)`,
            );
          break;
        }
        const batch: { step: PairedStep<Verification>; tags: Tag[]; plan: (typeof plans)[number] }[] = [];
        for (const p of queue.splice(0, room)) {
          const { ref, report: r, commit } = p;
          if (!commit) continue;
          if (unsettled.has(ref.id)) {
            fail(
              report,
              r,
              'an earlier switch of this reference is not settled yet (see `markers`): not rotated',
            );
            continue;
          }
          try {
            const resolved = await commit();
            if (resolved.uploaded && !report.uploaded.includes(resolved.serverCertificateId))
              report.uploaded.push(resolved.serverCertificateId);
            r.after = factsSummary(commit.facts, resolved.serverCertificateId);
            const plan: SwitchPlan = {
              from: { id: ref.serverCertificateId, certificate: ref.current },
              to: { id: resolved.serverCertificateId, fingerprint: commit.facts.fingerprint },
              at: now,
            };
            batch.push({
              step: switchStep(deps, options, ref, plan),
              tags: markerTags(ref, plan),
              plan: p,
            });
          } catch (err) {
            fail(report, r, err instanceof Error ? err.message : String(err), err);
          }
        }
        const lb = { regionId, resourceType: 'instance' as const, resourceIds: [loadBalancerId] };
        const outcomes = await runPairedBatch(
          {
            steps: batch.map((b) => b.step),
            mark: () => slb.tagResources({ ...lb, tags: batch.flatMap((b) => b.tags) }),
            unmark: (settled) =>
              slb.untagResources({
                ...lb,
                tagKeys: batch
                  .filter((b) => settled.includes(b.step))
                  .flatMap((b) => b.tags.map((t) => t.key)),
              }),
          },
          { verifyTimeoutMs: options.verifyTimeoutMs },
        );
        outcomes.forEach((out, i) => {
          const b = batch[i];
          if (b) recordSwitch(report, b.plan.ref, b.plan.report, out);
        });
        tagsInUse += 2 * outcomes.filter((o) => !o.settled).length;
      }
    }
  }
  if (report.references.some((r) => r.action === 'noReplacement' && r.due)) report.failed = true;

  // Clean up: what nothing references any more, after the switches above.
  // A reference that failed may hold either certificate (a rollback that did not complete).
  const referenced = new Set(
    report.references.flatMap((r) =>
      r.action === 'rotated'
        ? [r.after?.serverCertificateId ?? '']
        : [
            r.before.serverCertificateId ?? '',
            ...(r.action === 'failed' ? [r.after?.serverCertificateId ?? ''] : []),
          ],
    ),
  );
  for (const m of report.markers) if (!m.settled) referenced.add(m.from).add(m.to);
  // References on load balancers the spec does not manage count too.
  const managed = new Set(inUse.references.map((r) => r.loadBalancerId));
  const others = await otherReferences(
    slb,
    regionId,
    inUse.loadBalancers.filter((lb) => !managed.has(lb.loadBalancerId)).map((lb) => lb.loadBalancerId),
  );
  for (const id of others) referenced.add(id);
  const certificates = dryRun ? inUse.certificates : await slb.describeServerCertificates({ regionId });
  for (const c of certificates) {
    if (!isOwned(deps.ownership, c.tags, c.serverCertificateName) || referenced.has(c.serverCertificateId))
      continue;
    const replacedAt = c.tags.find((t) => t.key === REPLACED_AT_TAG)?.value;
    const expired = c.expireTimeStamp <= now.getTime();
    const graceOver =
      replacedAt !== undefined &&
      now.getTime() - Date.parse(replacedAt) >= spec.renewal.gracePeriodDays * DAY_MS;
    if (!expired && !graceOver) {
      report.kept.push({
        serverCertificateId: c.serverCertificateId,
        name: c.serverCertificateName,
        why: replacedAt
          ? `grace period of ${spec.renewal.gracePeriodDays} days since ${replacedAt.slice(0, 10)}`
          : 'not replaced by a verified rotation (no replaced-at tag)',
      });
      continue;
    }
    if (dryRun) {
      report.deleted.push(`${c.serverCertificateId} (would delete)`);
      continue;
    }
    try {
      await slb.deleteServerCertificate({ regionId, serverCertificateId: c.serverCertificateId });
      report.deleted.push(c.serverCertificateId);
    } catch (err) {
      report.warnings.push(
        `could not delete ${c.serverCertificateId}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  const count = certificates.length - report.deleted.filter((d) => !d.endsWith('(would delete)')).length;
  if (count >= CERTIFICATE_QUOTA - 10)
    report.warnings.push(
      `${regionId} holds ${count} of ${CERTIFICATE_QUOTA} server certificates: near the quota`,
    );
  return report;
}

async function bind(slb: SlbClient, ref: CertificateReference, serverCertificateId: string): Promise<void> {
  if (ref.kind === 'listener')
    await slb.setHttpsListenerAttribute({
      regionId: ref.regionId,
      loadBalancerId: ref.loadBalancerId,
      listenerPort: ref.listenerPort,
      serverCertificateId,
    });
  else
    await slb.setDomainExtensionCertificate({
      regionId: ref.regionId,
      domainExtensionId: ref.domainExtensionId ?? '',
      serverCertificateId,
    });
}

interface SwitchPlan {
  from: { id: string; certificate?: ServerCertificate };
  to: { id: string; fingerprint?: string };
  at: Date;
}

/** One reference's switch as a paired step: bind, verify, commit (grace starts), rollback; the marker is its batch's. */
function switchStep(
  deps: RenewalDeps,
  options: RenewalOptions,
  ref: CertificateReference,
  plan: SwitchPlan,
): PairedStep<Verification> {
  const { slb } = deps;
  const check = async (fingerprint: string | undefined, missing: Check<Verification>) =>
    fingerprint ? verifyReference(deps, ref, fingerprint, options) : missing;
  const previous = plan.from.certificate;
  return {
    id: ref.id,
    bind: () => bind(slb, ref, plan.to.id),
    verify: () =>
      check(plan.to.fingerprint, {
        ok: false,
        details: [{ domain: ref.domains.join(', '), result: `${plan.to.id} is not in the region` }],
      }),
    // The old certificate is replaced and the replacement verified: its grace period starts now.
    commit: async () => {
      if (previous && isOwned(deps.ownership, previous.tags, previous.serverCertificateName))
        await slb.tagResources({
          regionId: ref.regionId,
          resourceType: 'certificate',
          resourceIds: [plan.from.id],
          tags: [{ key: REPLACED_AT_TAG, value: plan.at.toISOString() }],
        });
    },
    rollback: {
      bind: () => bind(slb, ref, plan.from.id),
      // A dangling reference (its certificate gone from the region) has nothing to compare against.
      verify: () =>
        check(previous?.fingerprint, {
          ok: true,
          details: [
            { domain: ref.domains.join(', '), result: `${plan.from.id} is not in the region: not checked` },
          ],
        }),
    },
  };
}

/** The marker of one switch: the two tags on its load balancer. */
function markerTags(ref: CertificateReference, plan: SwitchPlan): Tag[] {
  return rotationMarkerTags({
    ref: markerRef(ref),
    from: plan.from.id,
    to: plan.to.id,
    at: Math.floor(plan.at.getTime() / 1000),
  });
}

function fail(report: RenewalReport, r: ReferenceReport, error: string, cause?: unknown): void {
  report.failed = true;
  r.action = 'failed';
  r.error = error;
  if (cause !== undefined) r.failure = errorReport(cause);
}

/** A switch's outcome in its reference's report. */
function recordSwitch(
  report: RenewalReport,
  ref: CertificateReference,
  r: ReferenceReport,
  out: PairedOutcome<Verification>,
): void {
  r.verification = verificationLines(out);
  if (out.status === 'applied') {
    if (!out.settled)
      report.warnings.push(
        `${ref.id}: rotated and verified, but its marker could not be removed (${out.rollbackError?.message}); the next run removes it`,
      );
    return;
  }
  report.failed = true;
  if (out.error) r.failure = errorReport(out.error);
  if (out.rollbackError) r.rollbackFailure = errorReport(out.rollbackError);
  const previous = ref.serverCertificateId;
  if (out.status === 'rolledBack') {
    r.action = 'rolledBack';
    r.error = `${out.error?.phase === 'verify' ? 'the listener did not serve the new certificate' : `the switch failed (${out.error?.message})`}; rolled back to ${previous}, which is served again`;
  } else if (out.status === 'unsettled') {
    r.action = 'failed';
    r.error = `the switch failed (${out.error?.message}) and so did the rollback to ${previous} (${out.rollbackError?.message}); the next run finishes it from the marker`;
  } else {
    r.action = 'failed';
    r.error = `nothing switched: ${out.error?.message}`;
  }
}

function verificationLines(out: PairedOutcome<Verification>): Verification {
  return [
    ...(out.verification ?? []),
    ...(out.rollbackVerification ?? []).map((x) => ({ ...x, result: `previous certificate: ${x.result}` })),
  ];
}

/**
 * Settles the markers on the managed load balancers; returns whether anything may have changed (then
 * the caller reads the references again). References left unsettled go into `unsettled`.
 */
async function settleMarkers(
  deps: RenewalDeps,
  options: RenewalOptions,
  inUse: CertificatesInUse,
  now: Date,
  report: RenewalReport,
  unsettled: Set<string>,
): Promise<boolean> {
  const managed = new Set(inUse.references.map((r) => r.loadBalancerId));
  const certificates = new Map(inUse.certificates.map((c) => [c.serverCertificateId, c]));
  let changed = false;
  for (const lb of inUse.loadBalancers) {
    if (!managed.has(lb.loadBalancerId)) continue;
    const { markers, broken } = parseRotationMarkers(lb.tags);
    const found: [RotationMarker, CertificateReference | undefined][] = markers.map((m) => [
      m,
      inUse.references.find((r) => r.loadBalancerId === lb.loadBalancerId && markerRef(r) === m.ref),
    ]);
    for (const ref of broken) found.push([{ ref, from: '', to: '', at: 0 }, undefined]);
    for (const [m, ref] of found) {
      const entry: MarkerReport = {
        loadBalancerId: lb.loadBalancerId,
        reference: ref?.id ?? `${lb.loadBalancerId}:${m.ref}`,
        from: m.from,
        to: m.to,
        at: new Date(m.at * 1000).toISOString(),
        outcome: 'wouldSettle',
        settled: false,
      };
      report.markers.push(entry);
      if (options.dryRun) continue;
      changed = true;
      const drop = async (outcome: MarkerReport['outcome']) => {
        entry.outcome = outcome;
        try {
          await deps.slb.untagResources({
            regionId: inUse.regionId,
            resourceType: 'instance',
            resourceIds: [lb.loadBalancerId],
            tagKeys: rotationMarkerKeys(m.ref),
          });
          entry.settled = true;
        } catch (err) {
          entry.failure = errorReport(err);
        }
      };
      const bound = ref?.serverCertificateId;
      if (!ref) await drop(broken.includes(m.ref) ? 'broken' : 'referenceGone');
      // Someone bound another certificate since: theirs to keep, not ours to roll back.
      else if (bound !== m.to && bound !== m.from) await drop('changedElsewhere');
      else {
        const step: PairedStep<Verification> = {
          ...switchStep(deps, options, ref, {
            from: { id: m.from, certificate: certificates.get(m.from) },
            to: { id: m.to, fingerprint: certificates.get(m.to)?.fingerprint },
            at: now,
          }),
          unmark: () =>
            deps.slb.untagResources({
              regionId: inUse.regionId,
              resourceType: 'instance',
              resourceIds: [lb.loadBalancerId],
              tagKeys: rotationMarkerKeys(m.ref),
            }),
        };
        const out = await resumePaired(step, bound === m.to ? 'target' : 'previous', {
          verifyTimeoutMs: options.verifyTimeoutMs,
        });
        entry.outcome =
          out.status === 'applied'
            ? 'verified'
            : out.status === 'rolledBack'
              ? 'rolledBack'
              : out.status === 'notApplied'
                ? 'previousVerified'
                : 'unsettled';
        entry.settled = out.settled;
        entry.verification = verificationLines(out);
        if (out.error) entry.failure = errorReport(out.error);
        if (out.rollbackError) entry.rollbackFailure = errorReport(out.rollbackError);
      }
      if (!entry.settled) {
        report.failed = true;
        if (ref) unsettled.add(ref.id);
      }
    }
  }
  return changed;
}

async function verifyReference(
  deps: RenewalDeps,
  ref: CertificateReference,
  fingerprint: string,
  options: RenewalOptions,
): Promise<Check<Verification>> {
  const where = await deps.listenerAddress({
    loadBalancerId: ref.loadBalancerId,
    address: ref.address,
    listenerPort: ref.listenerPort,
  });
  const results: { domain: string; result: string }[] = [];
  let ok = true;
  // A wildcard reference is checked on a name it covers.
  const names = ref.domains.map((domain) => ({
    domain,
    servername: domain.startsWith('*.') ? `check${domain.slice(1)}` : (domain as string | undefined),
  }));
  // A name one of the listener's extension domains answers never shows the default certificate: checking
  // it there would fail every switch and every rollback, and leave the marker for good. When every name
  // is such, a handshake without SNI reaches the default certificate.
  const shadowed = (n: { servername?: string }) =>
    n.servername !== undefined && answeredByExtensionDomain(n.servername, ref.extensionDomains ?? []);
  for (const n of names)
    if (shadowed(n))
      results.push({ domain: n.domain, result: 'answered by its extension domain: not checked here' });
  const reach = names.filter((n) => !shadowed(n));
  if (reach.length === 0) reach.push({ domain: '(no SNI)', servername: undefined });
  for (const { domain, servername } of reach) {
    const check = await deps.verify({
      host: where.host,
      port: where.port,
      ...(servername ? { servername } : {}),
      expectFingerprint: fingerprint,
      attempts: options.verifyAttempts ?? 5,
      delayMs: options.verifyDelayMs ?? 2000,
    });
    if (check.status === 'matched')
      results.push({ domain, result: `served after ${check.attempts} handshake(s)` });
    else {
      ok = false;
      results.push({
        domain,
        result:
          check.status === 'mismatch'
            ? `still serving ${check.served.subjectCN} (${check.served.fingerprintSha1}) after ${check.attempts} handshake(s)`
            : `handshake failed: ${check.error.reason}`,
      });
    }
  }
  return { ok, details: results };
}

/** Certificates bound on load balancers outside the spec (never ours to delete from under them). */
async function otherReferences(slb: SlbClient, regionId: string, others: string[]): Promise<string[]> {
  if (others.length === 0) return [];
  const out: string[] = [];
  const listeners = await slb.describeListeners({ regionId, loadBalancerIds: others, protocol: 'https' });
  for (const l of listeners) {
    if (l.listenerProtocol !== 'https') continue;
    const detail = await slb.describeHttpsListener({
      regionId,
      loadBalancerId: l.loadBalancerId,
      listenerPort: l.listenerPort,
    });
    if (detail.serverCertificateId) out.push(detail.serverCertificateId);
    for (const d of detail.domainExtensions) out.push(d.serverCertificateId);
  }
  return out;
}

/** Markdown for people. */
export function describeRenewal(r: RenewalReport): string {
  const lines = r.references
    .filter((x) => x.due || x.action !== 'notDue')
    .map(
      (x) =>
        `- ${x.reference}: ${x.action} (${x.why})${x.after ? `: ${x.before.commonName ?? '?'} ${x.before.expires?.slice(0, 10) ?? '?'} -> ${x.after.commonName} ${x.after.expires?.slice(0, 10) ?? '(to be issued)'}` : ''}${x.error ? `; ${x.error}` : ''}`,
    );
  for (const m of r.markers)
    lines.unshift(
      `- ${m.reference}: a switch left in flight (${m.from} -> ${m.to}, ${m.at}): ${m.outcome}${m.settled ? '' : ', not settled'}`,
    );
  if (lines.length === 0) lines.push(`- nothing due (${r.references.length} reference(s) checked)`);
  if (r.deleted.length) lines.push(`- deleted: ${r.deleted.join(', ')}`);
  for (const w of r.warnings) lines.push(`- warning: ${w}`);
  return lines.join('\n');
}
