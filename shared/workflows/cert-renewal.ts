// Certificate renewal and zero-downtime rotation. The decisions are the domain's
// (domain/renewal-plan.ts); this file reads the cloud, asks them, and runs each resulting plan through
// the one executor (executor.ts), in four stages:
//   markers   a run that died between bind and verify left its marker: this run finishes that switch
//             first (verify what is bound, or roll back), before deciding anything
//   decide    due when it expires within renewBeforeDays or has used more than two thirds of its
//             lifetime (the CA's ARI window wins when it offers one); the replacement is the spec's
//             source for that reference (a PEM pair, a pinned CAS id, an ACME order) or else the valid
//             CAS certificate with the latest expiry covering every domain the reference serves; it
//             must expire later than the current one
//   rotate    the CA's rate-limit wait tagged on (or off) the load balancer; per reference an upload
//             (once per certificate per region, reused by fingerprint, named and tagged as ours) and a
//             switch of only that reference. The switches of one load balancer run in batches its tag
//             quota can mark: one marker write, then per reference a paired step (paired-step.ts: bind,
//             a real TLS handshake with SNI for each domain, commit, or rollback on any failure after
//             the bind), then one unmark for the switches that settled
//   clean up  delete an old certificate only when we own it, nothing in the region references it, its
//             replacement was verified (it carries our replaced-at tag) and the grace period has
//             passed, or it has expired; warn near the 100-certificate quota
// Dry run: the same decisions; every plan is recorded (`planned`), nothing is written, no handshakes.
// One reference's switch (bind, verify, commit, rollback) is in renewal-switch.ts; the report and its text
// for people and notifications in renewal-report.ts.

import { CloudError } from '../cloud/errors';
import type { ListenerAddressResolver } from '../cloud/listener-address';
import type { Tag } from '../cloud/slb/wire';
import type { ServedCertificateCheck, WaitForServedCertificateRequest } from '../cloud/tls-probe';
import { ACME_ARI_ID_TAG, ACME_RETRY_AFTER_TAG } from '../domain/acme-renewal';
import { sameFingerprint } from '../domain/keys';
import { markerRef, rotationMarkerKeys } from '../domain/renewal';
import {
  ariIdToAsk,
  type DeleteAction,
  decideReference,
  dueness,
  MARKER_TAGS,
  type MarkerAction,
  markerRoom,
  noRoomReason,
  noteRetryAfter,
  planDeletions,
  planMarkers,
  planRetryAfterTags,
  planSwitchBatches,
  quotaWarning,
  type RetryAfterAction,
  referencedCertificates,
  replacementVerdict,
  retryAfterTagValue,
  type SourceKind,
  tagDelta,
} from '../domain/renewal-plan';
import { acmeDirectoryOf, type CertificateSource, type Spec } from '../domain/spec';
import { errorReport, errorText, findCause } from '../errors';
import {
  type AcmeIssuer,
  type CertificateResolver,
  CertificateSourceError,
  type Commit,
  createCertificateResolver,
} from './certificate-source';
import {
  type CertificateReference,
  type CertificatesInUse,
  certificatesBoundOn,
  findCertificatesInUse,
} from './certificates-in-use';
import type { CertificateWriterDeps } from './deps';
import {
  type Execution,
  execute,
  type PlannedAction,
  type StepResult,
  type StepStatus,
  type Work,
} from './executor';
import { LeaseLostError, LeaseUnavailableError, withLoadBalancerLeases } from './lease';
import { type PairedOutcome, type PairedStep, resumePaired, runPairedBatch } from './paired-step';
import {
  type ActionReport,
  emptyReport,
  factsSummary,
  fail,
  type MarkerReport,
  type ReferenceReport,
  type RenewalReport,
  summary,
  type Verification,
} from './renewal-report';
import { markerTags, recordSwitch, type SwitchPlan, switchStep, verificationLines } from './renewal-switch';

export { CERTIFICATE_QUOTA, REPLACED_AT_TAG, type ReferenceAction } from '../domain/renewal-plan';
export {
  type ActionReport,
  describeRenewal,
  type MarkerReport,
  type ReferenceReport,
  type RenewalReport,
  type RenewalWarning,
  renewalNotification,
} from './renewal-report';

export interface RenewalDeps extends CertificateWriterDeps {
  listenerAddress: ListenerAddressResolver;
  verify: (req: WaitForServedCertificateRequest) => Promise<ServedCertificateCheck>;
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
    preview.wouldDelete.length > 0;
  if (!work) return { ...preview, dryRun: false, actions: [] };
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
    const report = emptyReport(deps.now(), false, spec.region);
    report.warnings.push({ message: err.message, error: errorReport(err) });
    report.failed = true;
    return report;
  }
}

/** One run: what it reads once and what every stage shares. */
interface Run {
  deps: RenewalDeps;
  spec: Spec;
  options: RenewalOptions;
  now: Date;
  dryRun: boolean;
  /** before each write: renews the leases when due, throws when one was lost */
  checkpoint: () => Promise<void>;
  inUse: CertificatesInUse;
  report: RenewalReport;
}

async function renew(
  deps: RenewalDeps,
  spec: Spec,
  options: RenewalOptions,
  checkpoint: () => Promise<void> = async () => {},
): Promise<RenewalReport> {
  const now = deps.now();
  const dryRun = options.dryRun ?? false;
  const inUse = await findCertificatesInUse(deps.slb, spec, deps.ownership);
  const report = emptyReport(now, dryRun, inUse.regionId);
  const run: Run = { deps, spec, options, now, dryRun, checkpoint, inUse, report };
  if (inUse.references.length === 0) return report;
  // Finish what an earlier run left in flight before deciding anything, then read again what it changed.
  const unsettled = await settleMarkers(run);
  if (!dryRun && report.markers.length > 0)
    run.inUse = await findCertificatesInUse(deps.slb, spec, deps.ownership);
  const decided = await decideReferences(run);
  await rotate(run, decided, unsettled);
  if (report.references.some((r) => r.action === 'noReplacement' && r.due)) report.failed = true;
  await cleanUp(run);
  return report;
}

/**
 * Runs one stage's plan: in order, each write after the lease checkpoint, past failures (each is
 * reported where it belongs). A lost lease stops the run: nothing more is written.
 */
async function runPlan<A extends PlannedAction>(
  run: Run,
  actions: readonly A[],
  work: (action: A) => Work<Verification>,
  /** what a run step's own outcome says, over the executor's `done` (a switch that rolled back, ...) */
  outcome: (result: StepResult<A, Verification>) => Pick<ActionReport, 'status' | 'error'> | undefined = () =>
    undefined,
): Promise<Execution<A, Verification>> {
  const execution = await execute(actions, work, {
    dryRun: run.dryRun,
    stopOnFailure: false,
    beforeEach: () => run.checkpoint(),
  });
  for (const r of execution.results) {
    const lost = findCause(r.thrown, LeaseLostError);
    if (lost) throw lost;
  }
  for (const r of execution.results)
    run.report.actions.push({
      id: r.action.id,
      kind: r.action.kind,
      reason: r.action.reason,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      ...outcome(r),
    });
  return execution;
}

const PAIRED_STATUS: Record<PairedOutcome<unknown>['status'], StepStatus> = {
  applied: 'done',
  rolledBack: 'rolledBack',
  notApplied: 'failed',
  unsettled: 'unsettled',
};

// ---- markers ------------------------------------------------------------------------------------

const MARKER_OUTCOME: Record<PairedOutcome<unknown>['status'], MarkerReport['outcome']> = {
  applied: 'verified',
  rolledBack: 'rolledBack',
  notApplied: 'previousVerified',
  unsettled: 'unsettled',
};

/** Settles the markers on the managed load balancers; returns the references left unsettled. */
async function settleMarkers(run: Run): Promise<Set<string>> {
  const { inUse, report } = run;
  const actions = planMarkers(
    inUse.loadBalancers,
    inUse.references.map((r) => ({ ...r, markerRef: markerRef(r) })),
  );
  const outcomes = new Map<string, PairedOutcome<Verification>>();
  const execution = await runPlan(
    run,
    actions,
    (a) => ({ run: () => settleMarker(run, a, outcomes) }),
    (r) => resumeStatus(outcomes.get(r.action.id)),
  );
  const unsettled = new Set<string>();
  for (const r of execution.results) {
    const entry = markerReport(r.action, r, outcomes.get(r.action.id));
    report.markers.push(entry);
    if (run.dryRun || entry.settled) continue;
    report.failed = true;
    if (r.action.kind === 'resumeMarker' || r.action.outcome === 'changedElsewhere')
      unsettled.add(r.action.referenceId);
  }
  return unsettled;
}

/** A resumed switch: settled (verified, or the previous certificate verified), rolled back, or left. */
function resumeStatus(
  out: PairedOutcome<Verification> | undefined,
): Pick<ActionReport, 'status' | 'error'> | undefined {
  if (!out) return undefined;
  const error = out.rollbackError ?? out.error;
  return {
    status: !out.settled ? 'unsettled' : out.status === 'rolledBack' ? 'rolledBack' : 'done',
    ...(error ? { error: errorReport(error) } : {}),
  };
}

async function settleMarker(
  run: Run,
  a: MarkerAction,
  outcomes: Map<string, PairedOutcome<Verification>>,
): Promise<void> {
  const { slb } = run.deps;
  const unmark = () =>
    slb.untagResources({
      regionId: run.inUse.regionId,
      resourceType: 'instance',
      resourceIds: [a.loadBalancerId],
      tagKeys: rotationMarkerKeys(a.marker.ref),
    });
  const ref = run.inUse.references.find((r) => r.id === a.referenceId);
  if (a.kind === 'dropMarker' || !ref) return unmark();
  const certificate = (id: string) => run.inUse.certificates.find((c) => c.serverCertificateId === id);
  const step: PairedStep<Verification> = {
    ...switchStep(run.deps, run.options, ref, {
      from: { id: a.marker.from, certificate: certificate(a.marker.from) },
      to: { id: a.marker.to, fingerprint: certificate(a.marker.to)?.fingerprint },
      at: run.now,
    }),
    unmark,
  };
  outcomes.set(a.id, await resumePaired(step, a.bound, { verifyTimeoutMs: run.options.verifyTimeoutMs }));
}

function markerReport(
  a: MarkerAction,
  r: StepResult<MarkerAction, Verification>,
  out: PairedOutcome<Verification> | undefined,
): MarkerReport {
  const entry: MarkerReport = {
    loadBalancerId: a.loadBalancerId,
    reference: a.referenceId,
    from: a.marker.from,
    to: a.marker.to,
    at: new Date(a.marker.at * 1000).toISOString(),
    outcome: 'wouldSettle',
    settled: false,
  };
  if (r.status === 'planned') return entry;
  if (a.kind === 'dropMarker' || !out) {
    entry.outcome = a.kind === 'dropMarker' ? a.outcome : 'unsettled';
    entry.settled = r.status === 'done';
    if (r.error) entry.failure = r.error;
    return entry;
  }
  entry.outcome = MARKER_OUTCOME[out.status];
  entry.settled = out.settled;
  entry.verification = verificationLines(out);
  if (out.error) entry.failure = errorReport(out.error);
  if (out.rollbackError) entry.rollbackFailure = errorReport(out.rollbackError);
  return entry;
}

// ---- deciding ----------------------------------------------------------------------------------

/** A due reference, the replacement chosen for it, and (once uploaded) its switch. */
interface Replacement {
  ref: CertificateReference;
  report: ReferenceReport;
  commit: Commit;
}

interface Decided {
  replacements: Replacement[];
  /** load balancers whose ACME orders hit the CA's rate limit in this run, and until when */
  rateLimited: Map<string, Date>;
}

const sourceKind = (s: CertificateSource | undefined): SourceKind =>
  s && 'serverCertificateId' in s ? 'pinned' : s && 'acme' in s ? 'acme' : 'other';

/** Decides every reference before writing anything (an ACME source is issued here, when due). */
async function decideReferences(run: Run): Promise<Decided> {
  const { inUse, report } = run;
  const resolver = createCertificateResolver({ ...run.deps, regionId: inUse.regionId, issue: !run.dryRun });
  // CAS's record of a certificate gives its real start; SLB's only the upload time.
  const cas = await resolver.casCertificates().catch(() => []);
  const decided: Decided = { replacements: [], rateLimited: new Map() };
  for (const ref of inUse.references) {
    const r: ReferenceReport = {
      reference: ref.id,
      kind: ref.kind,
      domains: ref.domains,
      due: false,
      why: '',
      action: 'notDue',
      before: summary(ref.current, ref.serverCertificateId),
    };
    report.references.push(r);
    const issuedMs = cas.find((x) => sameFingerprint(x.fingerprint, ref.current?.fingerprint))?.notBefore;
    const decision = decideReference({
      loadBalancerId: ref.loadBalancerId,
      due: await assessDue(run, ref, issuedMs),
      sourceKind: sourceKind(ref.source),
      loadBalancerTags: tagsOf(inUse, ref.loadBalancerId),
      now: run.now,
    });
    r.due = decision.kind !== 'notDue';
    r.why = decision.why;
    if (decision.kind === 'pinned') r.action = 'pinned';
    if (decision.kind === 'waitForRateLimit')
      Object.assign(r, { action: 'noReplacement', error: decision.error });
    if (decision.kind !== 'findReplacement') continue;
    if (decision.dangling) r.action = 'noReplacement';
    const found = await findReplacement(run, resolver, ref, r, decided.rateLimited);
    if (found) decided.replacements.push(found);
  }
  return decided;
}

const tagsOf = (inUse: CertificatesInUse, loadBalancerId: string) =>
  inUse.loadBalancers.find((l) => l.loadBalancerId === loadBalancerId)?.tags ?? [];

/** Due or not (undefined: the bound certificate is not in the region). The CA's ARI window is asked here. */
async function assessDue(
  run: Run,
  ref: CertificateReference,
  issuedMs: number | undefined,
): Promise<{ due: boolean; why: string } | undefined> {
  const c = ref.current;
  if (!c) return undefined;
  const nowMs = run.now.getTime();
  const acme = ref.source && 'acme' in ref.source ? ref.source.acme : undefined;
  const ariId = ariIdToAsk(acme !== undefined, c, ACME_ARI_ID_TAG, nowMs);
  const lookup = run.deps.acme?.renewalInfo;
  const info = acme && ariId && lookup ? await lookup(acmeDirectoryOf(acme), ariId) : undefined;
  return dueness({
    expiresMs: c.expireTimeStamp,
    issuedMs: issuedMs ?? c.createTimeStamp,
    nowMs,
    renewBeforeDays: run.spec.renewal.renewBeforeDays,
    ...(info ? { ariWindow: info.window } : {}),
  });
}

/** The spec's source for the reference (else CAS), prepared and judged; nothing is uploaded yet. */
async function findReplacement(
  run: Run,
  resolver: CertificateResolver,
  ref: CertificateReference,
  r: ReferenceReport,
  rateLimited: Map<string, Date>,
): Promise<Replacement | undefined> {
  const c = ref.current;
  const source = ref.source ?? { cas: { domain: ref.domains[0] ?? c?.commonName ?? '' } };
  try {
    // Issuing can take minutes (propagation, validation): the leases are renewed first when due.
    if ('acme' in source && !run.dryRun) await run.checkpoint();
    const commit = await resolver.prepare(source, ref.domains, `${ref.id}.certificate`);
    if (commit.wouldIssue) {
      Object.assign(r, { why: `${r.why}; ${commit.wouldIssue}`, action: 'wouldRotate' });
      r.after = { commonName: commit.facts.commonName };
      return undefined;
    }
    const verdict = replacementVerdict(c, { ...commit.facts, issuedNow: commit.issuedNow === true });
    if (!verdict.ok) {
      Object.assign(r, { action: 'noReplacement', error: verdict.reason });
      return undefined;
    }
    r.after = factsSummary(commit.facts);
    r.action = run.dryRun ? 'wouldRotate' : 'rotated';
    return { ref, report: r, commit };
  } catch (err) {
    if (!(err instanceof CertificateSourceError)) throw err;
    Object.assign(r, { action: 'noReplacement', error: err.message, failure: errorReport(err) });
    if (err.retryAfter) {
      fail(run.report, r, `${err.message}; the CA says retry after ${err.retryAfter.toISOString()}`, err);
      noteRetryAfter(rateLimited, ref.loadBalancerId, err.retryAfter);
    }
    return undefined;
  }
}

// ---- rotating ------------------------------------------------------------------------------------

type UploadAction = PlannedAction & { kind: 'uploadCertificate'; referenceId: string };
type SwitchAction = PlannedAction & {
  kind: 'switchCertificates';
  loadBalancerId: string;
  referenceIds: string[];
};
type RotateAction = RetryAfterAction | UploadAction | SwitchAction;

/** An uploaded replacement, ready to switch: its paired step and its marker tags. */
interface Ready {
  replacement: Replacement;
  step: PairedStep<Verification>;
  tags: Tag[];
}

/** What the rotate stage's actions learn while running: tag counts, uploads, switch outcomes. */
interface RotateState {
  tagsInUse: Map<string, number>;
  ready: Map<string, Ready>;
  outcomes: Map<string, PairedOutcome<Verification>[]>;
}

/** The rate-limit tags, then per load balancer and batch: the uploads, then the batch's switches. */
async function rotate(run: Run, decided: Decided, unsettled: ReadonlySet<string>): Promise<void> {
  const { inUse, report } = run;
  const waits = planRetryAfterTags(inUse.loadBalancers, decided.rateLimited, run.now);
  for (const message of waits.warnings) report.warnings.push({ message });
  const planned = new Map(inUse.loadBalancers.map((l) => [l.loadBalancerId, l.tags.length]));
  for (const a of waits.actions)
    planned.set(a.loadBalancerId, (planned.get(a.loadBalancerId) ?? 0) + tagDelta(a));
  const byId = new Map(decided.replacements.map((x) => [x.ref.id, x]));
  const { batches, refused } = planSwitchBatches(
    decided.replacements.map((x) => ({ referenceId: x.ref.id, loadBalancerId: x.ref.loadBalancerId })),
    (id) => planned.get(id) ?? 0,
    unsettled,
  );
  for (const x of refused) {
    const r = byId.get(x.referenceId)?.report;
    // A dry run says why, and still counts as work: the run itself holds the lease while it refuses.
    if (r && run.dryRun) r.error = x.reason;
    else if (r) fail(report, r, x.reason);
  }
  const actions: RotateAction[] = [...waits.actions];
  batches.forEach((b, n) => {
    for (const id of b.referenceIds)
      actions.push({
        kind: 'uploadCertificate',
        id: `upload:${id}`,
        referenceId: id,
        reason: uploadReason(byId.get(id)),
      });
    actions.push({
      kind: 'switchCertificates',
      id: `switch:${b.loadBalancerId}#${n + 1}`,
      loadBalancerId: b.loadBalancerId,
      referenceIds: b.referenceIds,
      reason: `${b.referenceIds.length} due reference(s): one marker write, then per reference bind, verify by TLS handshake, commit or roll back`,
    });
  });
  const state: RotateState = {
    tagsInUse: new Map(inUse.loadBalancers.map((l) => [l.loadBalancerId, l.tags.length])),
    ready: new Map(),
    outcomes: new Map(),
  };
  const execution = await runPlan(
    run,
    actions,
    (a) => ({ run: () => rotateStep(run, byId, state, a) }),
    (r) =>
      r.action.kind === 'switchCertificates' ? batchStatus(state.outcomes.get(r.action.id)) : undefined,
  );
  for (const r of execution.results) recordRotateStep(run, byId, r);
}

const uploadReason = (x: Replacement | undefined): string =>
  `the replacement for ${x?.ref.id}: ${x?.commit.facts.commonName}, expires ${x?.commit.facts.notAfter.toISOString().slice(0, 10)} (reused when the region holds it)`;

function rotateStep(
  run: Run,
  byId: ReadonlyMap<string, Replacement>,
  state: RotateState,
  a: RotateAction,
): Promise<unknown> {
  const { slb } = run.deps;
  const lb = { regionId: run.inUse.regionId, resourceType: 'instance' as const, resourceIds: [] as string[] };
  const count = (id: string, delta: number) =>
    state.tagsInUse.set(id, (state.tagsInUse.get(id) ?? 0) + delta);
  switch (a.kind) {
    case 'untagRetryAfter':
      return slb
        .untagResources({ ...lb, resourceIds: [a.loadBalancerId], tagKeys: [ACME_RETRY_AFTER_TAG] })
        .then(() => count(a.loadBalancerId, tagDelta(a)));
    case 'tagRetryAfter':
      return slb
        .tagResources({
          ...lb,
          resourceIds: [a.loadBalancerId],
          tags: [{ key: ACME_RETRY_AFTER_TAG, value: retryAfterTagValue(a.until) }],
        })
        .then(() => count(a.loadBalancerId, tagDelta(a)));
    case 'uploadCertificate':
      return upload(run, byId, state, a);
    case 'switchCertificates':
      return switchBatch(run, state, a);
  }
}

/** Uploads (or reuses) one replacement and prepares its switch. */
async function upload(
  run: Run,
  byId: ReadonlyMap<string, Replacement>,
  state: RotateState,
  a: UploadAction,
): Promise<void> {
  const replacement = byId.get(a.referenceId);
  if (!replacement) throw new Error(`plan: no replacement decided for ${a.referenceId}`);
  const { ref, report: r, commit } = replacement;
  const resolved = await commit();
  if (resolved.uploaded && !run.report.uploaded.includes(resolved.serverCertificateId))
    run.report.uploaded.push(resolved.serverCertificateId);
  r.after = factsSummary(commit.facts, resolved.serverCertificateId);
  const plan: SwitchPlan = {
    from: { id: ref.serverCertificateId, certificate: ref.current },
    to: { id: resolved.serverCertificateId, fingerprint: commit.facts.fingerprint },
    at: run.now,
  };
  state.ready.set(a.referenceId, {
    replacement,
    step: switchStep(run.deps, run.options, ref, plan),
    tags: markerTags(ref, plan),
  });
}

/**
 * One batch of one load balancer: one marker write, the paired switches, one unmark. Markers an earlier
 * batch could not remove take room: what no longer fits goes in a further, smaller batch, and only what
 * finds no room at all is not switched (the old certificate stays bound; the next run tries again).
 */
async function switchBatch(run: Run, state: RotateState, a: SwitchAction): Promise<void> {
  const queue = a.referenceIds.flatMap((id) => state.ready.get(id) ?? []);
  const outcomes: PairedOutcome<Verification>[] = [];
  while (queue.length > 0) {
    const room = markerRoom(state.tagsInUse.get(a.loadBalancerId) ?? 0);
    if (room < 1) {
      for (const x of queue.splice(0)) fail(run.report, x.replacement.report, noRoomReason(a.loadBalancerId));
      break;
    }
    const batch = queue.splice(0, room);
    const done = await switchMarked(run, a.loadBalancerId, batch);
    outcomes.push(...done);
    const left = done.filter((o) => !o.settled).length;
    state.tagsInUse.set(a.loadBalancerId, (state.tagsInUse.get(a.loadBalancerId) ?? 0) + MARKER_TAGS * left);
  }
  state.outcomes.set(a.id, outcomes);
}

/** The switches of `batch` under one marker write and one unmark, each recorded in its reference's report. */
async function switchMarked(
  run: Run,
  loadBalancerId: string,
  batch: readonly Ready[],
): Promise<PairedOutcome<Verification>[]> {
  const lb = {
    regionId: run.inUse.regionId,
    resourceType: 'instance' as const,
    resourceIds: [loadBalancerId],
  };
  const outcomes = await runPairedBatch(
    {
      steps: batch.map((b) => b.step),
      mark: () => run.deps.slb.tagResources({ ...lb, tags: batch.flatMap((b) => b.tags) }),
      unmark: (settled) =>
        run.deps.slb.untagResources({
          ...lb,
          tagKeys: batch.filter((b) => settled.includes(b.step)).flatMap((b) => b.tags.map((t) => t.key)),
        }),
    },
    { verifyTimeoutMs: run.options.verifyTimeoutMs },
  );
  outcomes.forEach((out, i) => {
    const b = batch[i];
    if (b) recordSwitch(run.report, b.replacement.ref, b.replacement.report, out);
  });
  return outcomes;
}

/** A batch's status: done when every switch was applied and settled, else its first failure's. */
function batchStatus(
  outcomes: PairedOutcome<Verification>[] | undefined,
): Pick<ActionReport, 'status' | 'error'> | undefined {
  const bad = outcomes?.find((o) => o.status !== 'applied' || !o.settled);
  if (!bad) return undefined;
  const error = bad.error ?? bad.rollbackError;
  return {
    status: bad.settled ? PAIRED_STATUS[bad.status] : 'unsettled',
    ...(error ? { error: errorReport(error) } : {}),
  };
}

/** A write of the rotate stage that failed, where it belongs: its reference, or a warning. */
function recordRotateStep(
  run: Run,
  byId: ReadonlyMap<string, Replacement>,
  r: StepResult<RotateAction, Verification>,
): void {
  if (r.status !== 'failed') return;
  const a = r.action;
  const error = r.error ?? errorReport(r.thrown);
  const why = errorText(r.thrown);
  if (a.kind === 'untagRetryAfter')
    run.report.warnings.push({
      message: `${a.loadBalancerId}: could not remove ${ACME_RETRY_AFTER_TAG}: ${why}`,
      error,
    });
  else if (a.kind === 'tagRetryAfter')
    run.report.warnings.push({
      message: `${a.loadBalancerId}: could not record the CA's retry time: ${why}`,
      error,
    });
  else if (a.kind === 'uploadCertificate') {
    const replacement = byId.get(a.referenceId);
    if (replacement) fail(run.report, replacement.report, why, r.thrown);
  }
}

// ---- cleaning up -----------------------------------------------------------------------------------

/** What nothing references any more, after the switches above, goes when the domain says so. */
async function cleanUp(run: Run): Promise<void> {
  const { deps, inUse, report } = run;
  const regionId = inUse.regionId;
  // References on load balancers the spec does not manage count too.
  const managed = new Set(inUse.references.map((r) => r.loadBalancerId));
  const elsewhere = await certificatesBoundOn(
    deps.slb,
    regionId,
    inUse.loadBalancers.filter((lb) => !managed.has(lb.loadBalancerId)).map((lb) => lb.loadBalancerId),
  );
  const referenced = referencedCertificates(
    report.references.map((r) => ({
      action: r.action,
      before: r.before.serverCertificateId,
      after: r.after?.serverCertificateId,
    })),
    report.markers.filter((m) => !m.settled),
    [...elsewhere],
  );
  const certificates = run.dryRun
    ? inUse.certificates
    : await deps.slb.describeServerCertificates({ regionId });
  const { actions, kept } = planDeletions({
    certificates,
    ownership: deps.ownership,
    referenced,
    nowMs: run.now.getTime(),
    gracePeriodDays: run.spec.renewal.gracePeriodDays,
  });
  report.kept.push(...kept);
  const execution = await runPlan(run, actions, (a: DeleteAction) => ({
    run: () => deps.slb.deleteServerCertificate({ regionId, serverCertificateId: a.serverCertificateId }),
  }));
  for (const r of execution.results) {
    const id = r.action.serverCertificateId;
    if (r.status === 'planned') report.wouldDelete.push(id);
    else if (r.status === 'done') report.deleted.push(id);
    else
      report.warnings.push({
        message: `could not delete ${id}: ${errorText(r.thrown)}`,
        ...(r.error ? { error: r.error } : {}),
      });
  }
  const warning = quotaWarning(regionId, certificates.length - report.deleted.length);
  if (warning) report.warnings.push({ message: warning });
}
