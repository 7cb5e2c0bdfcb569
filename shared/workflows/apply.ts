// Plan and apply a spec: observe -> plan (pure) -> check every certificate source -> run the actions
// in order through the one executor (executor.ts), each kind by its writer in RUNNERS. Idempotent by construction: every action is absolute and a re-run observes again,
// so after a failure (the run stops at the first failed action and reports what it did) the next
// apply plans only what is still missing. Nothing is written when the spec or a certificate source is
// bad: those are checked before the first write. What we create carries our marker: load balancers
// are named `<namePrefix><name>` and tagged; groups and uploaded certificates are tagged.

import { createHash } from 'node:crypto';
import type { SlbClient } from '../cloud/slb';
import type { HealthCheck, ListenerSettings } from '../cloud/slb/listeners';
import type { Tag } from '../cloud/slb/wire';
import { checkNewLoadBalancers, checkSpecLimits, type DeploymentLimits } from '../domain/limits';
import {
  backendModel,
  desiredFromSpec,
  type HealthCheckModel,
  type LoadBalancerModel,
} from '../domain/model';
import { isOwned, markerTags, type OwnershipMarker, ownedName } from '../domain/ownership';
import {
  type Action,
  describeAction,
  duplicateCertificates,
  type Plan,
  planAll,
  planDuplicateCertificates,
} from '../domain/plan';
import type { Spec } from '../domain/spec';
import { type ErrorReport, errorReport } from '../errors';
import {
  type CertificateResolver,
  createCertificateResolver,
  type ResolvedCertificate,
} from './certificate-source';
import { certificatesBoundOn } from './certificates-in-use';
import type { CertificateWriterDeps } from './deps';
import { execute, type PlannedAction } from './executor';
import { LeaseUnavailableError, withLoadBalancerLeases } from './lease';
import { observeLoadBalancers } from './observe';

/** Apply writes load balancers and uploads the certificates the spec's sources give. */
export type ApplyDeps = CertificateWriterDeps;

export interface ProgressEvent {
  /** 1-based */
  index: number;
  total: number;
  action: Action;
  text: string;
  status: 'started' | 'done' | 'failed';
}

export interface ApplyResult {
  plan: Plan;
  /** actions that completed, in order */
  done: Action[];
  /** the action that failed, and why (as thrown, and as report data); the run stopped there */
  failed?: { action: Action; error: Error; report: ErrorReport };
  /** actions not attempted because of the failure */
  remaining: Action[];
  /** certificates uploaded by this run */
  uploadedCertificates: string[];
}

export async function observeAndPlan(
  slb: SlbClient,
  spec: Spec,
  ownership: OwnershipMarker,
): Promise<{ plan: Plan; desired: LoadBalancerModel[]; observed: LoadBalancerModel[] }> {
  const desired = desiredFromSpec(spec);
  const observed = await observeLoadBalancers(slb, spec.region, desired, ownership);
  const plan = planAll(desired, observed);
  const repair = await certificateRepair(slb, spec.region, observed, ownership, plan);
  return {
    plan: {
      actions: [...plan.actions, ...repair.actions],
      leftAlone: [...plan.leftAlone, ...repair.leftAlone],
    },
    desired,
    observed,
  };
}

/**
 * Our certificates uploaded twice (two runs at once): one DescribeServerCertificates; only when there
 * are duplicates, the references of the region's other load balancers too (a copy they use stays).
 */
async function certificateRepair(
  slb: SlbClient,
  regionId: string,
  observed: readonly LoadBalancerModel[],
  ownership: OwnershipMarker,
  plan: Plan,
): Promise<Plan> {
  if (observed.length === 0) return { actions: [], leftAlone: [] };
  const sets = duplicateCertificates(
    (await slb.describeServerCertificates({ regionId })).map((c) => ({
      serverCertificateId: c.serverCertificateId,
      fingerprint: c.fingerprint,
      owned: isOwned(ownership, c.tags, c.serverCertificateName),
    })),
  );
  if (sets.length === 0) return { actions: [], leftAlone: [] };
  const managed = new Set(observed.map((o) => o.loadBalancerId));
  const others = (await slb.describeLoadBalancers({ regionId }))
    .map((lb) => lb.loadBalancerId)
    .filter((id) => !managed.has(id));
  const elsewhere = await certificatesBoundOn(slb, regionId, others);
  const deleted = new Set(
    plan.actions.flatMap((a) => (a.kind === 'deleteListener' ? [`${a.lb.name}:${a.port}`] : [])),
  );
  return planDuplicateCertificates(sets, observed, elsewhere, deleted);
}

/**
 * Same deployment and spec, same token: a retried CreateLoadBalancer does not make a second one;
 * another deployment's token differs, so it never receives this deployment's load balancer.
 */
function clientToken(spec: Spec, ownership: OwnershipMarker, name: string): string {
  return createHash('sha256')
    .update(`${spec.region}\n${ownership.deploymentId}\n${ownedName(ownership, name)}`)
    .digest('hex')
    .slice(0, 32);
}

function toHealthCheck(h: Partial<HealthCheckModel>): Partial<HealthCheck> {
  const out: Partial<HealthCheck> = {};
  if (h.enabled !== undefined) out.enabled = h.enabled;
  if (h.path !== undefined) out.uri = h.path;
  if (h.domain !== undefined) out.domain = h.domain;
  if (h.port !== undefined) out.connectPort = h.port;
  if (h.interval !== undefined) out.interval = h.interval;
  if (h.healthyThreshold !== undefined) out.healthyThreshold = h.healthyThreshold;
  if (h.unhealthyThreshold !== undefined) out.unhealthyThreshold = h.unhealthyThreshold;
  if (h.timeout !== undefined) out.timeout = h.timeout;
  if (h.httpCodes !== undefined) out.httpCodes = h.httpCodes;
  if (h.method !== undefined) out.method = h.method;
  return out;
}

/** The plan's certificate sources, read and checked without writing; keyed as `run` looks them up. */
async function prepareCertificates(
  resolver: CertificateResolver,
  plan: Plan,
): Promise<Map<string, () => Promise<ResolvedCertificate>>> {
  const needs = new Map<string, () => Promise<ResolvedCertificate>>();
  for (const a of plan.actions) {
    if (a.kind === 'createListener' && a.listener.protocol === 'https') {
      const source = a.listener.certificate;
      const where = `loadBalancers[${a.lb.name}].listeners[${a.listener.port}].certificate`;
      if (!source) throw new Error(`${where}: an HTTPS listener needs a certificate`);
      needs.set(
        `${a.lb.name}:${a.listener.port}`,
        await resolver.prepare(source, a.listener.domains ?? [], where),
      );
    }
    if (a.kind === 'createDomainExtension') {
      const where = `loadBalancers[${a.lb.name}].listeners[${a.port}].extensionDomains[${a.domain}].certificate`;
      if (!a.certificate) throw new Error(`${where}: an extension domain needs a certificate`);
      needs.set(
        `${a.lb.name}:${a.port}:${a.domain}`,
        await resolver.prepare(a.certificate, [a.domain], where),
      );
    }
  }
  return needs;
}

/**
 * The deployment's limits on a spec received from outside, before anything is written: its region and
 * adopted load balancers, and the load balancers it would create on top of those this deployment
 * already created (one DescribeLoadBalancers, only when the spec creates any).
 */
export async function checkWithinLimits(
  slb: SlbClient,
  spec: Spec,
  ownership: OwnershipMarker,
  limits: DeploymentLimits,
): Promise<void> {
  checkSpecLimits(spec, limits);
  const creates = spec.loadBalancers.filter((lb) => lb.create);
  if (creates.length === 0) return;
  const created = (await slb.describeLoadBalancers({ regionId: spec.region })).filter((lb) =>
    isOwned(ownership, lb.tags, lb.loadBalancerName),
  );
  const creating = creates.filter(
    (c) => !created.some((lb) => lb.loadBalancerName === ownedName(ownership, c.name)),
  ).length;
  checkNewLoadBalancers(creating, created.length, limits);
}

/** `observeAndPlan` within the deployment's limits (the provisioning API's `/plan`). */
export async function planWithinLimits(
  slb: SlbClient,
  spec: Spec,
  ownership: OwnershipMarker,
  limits: DeploymentLimits,
): Promise<Plan> {
  await checkWithinLimits(slb, spec, ownership, limits);
  return (await observeAndPlan(slb, spec, ownership)).plan;
}

/** What one apply knows while it writes: the ids of what it created, the certificates it prepared. */
interface ApplyRun {
  deps: ApplyDeps;
  spec: Spec;
  regionId: string;
  options: ApplyOptions;
  lbIds: Map<string, string>;
  groupIds: Map<string, string>;
  resolver: CertificateResolver;
  needs: Map<string, () => Promise<ResolvedCertificate>>;
  /** actions completed, in order */
  done: Action[];
  /** actions in the plan being run, for progress events */
  total: number;
}

export interface ApplyOptions {
  /** called once with the plan, after the certificate checks and before the first write */
  onPlan?: (plan: Plan) => void;
  onProgress?: (e: ProgressEvent) => void;
  /** more tags for the load balancers this apply creates (the provisioning API's applied-at record) */
  createTags?: Tag[];
}

function knowGroups(run: ApplyRun, observed: readonly LoadBalancerModel[]): void {
  for (const o of observed) {
    if (o.loadBalancerId) run.lbIds.set(o.name, o.loadBalancerId);
    for (const g of o.groups)
      if (g.vServerGroupId && !g.duplicateOf) run.groupIds.set(`${o.name}/${g.name}`, g.vServerGroupId);
  }
}

function lbId(run: ApplyRun, a: Action): string {
  const id = a.lb.loadBalancerId ?? run.lbIds.get(a.lb.name);
  if (!id) throw new Error(`load balancer ${a.lb.name} does not exist yet`);
  return id;
}

function groupId(run: ApplyRun, a: Action, group: string): string {
  const id = run.groupIds.get(`${a.lb.name}/${group}`);
  if (!id) throw new Error(`VServer group ${group} of ${a.lb.name} does not exist yet`);
  return id;
}

async function certificate(run: ApplyRun, key: string): Promise<string> {
  const upload = run.needs.get(key);
  if (!upload) throw new Error(`no certificate prepared for ${key}`);
  return (await upload()).serverCertificateId;
}

const listenerRef = (run: ApplyRun, a: Action & { port: number; protocol: 'http' | 'https' }) => ({
  regionId: run.regionId,
  loadBalancerId: lbId(run, a),
  listenerPort: a.port,
  protocol: a.protocol,
});

type ActionOf<K extends Action['kind']> = Extract<Action, { kind: K }>;
type Runner<K extends Action['kind']> = (run: ApplyRun, a: ActionOf<K>) => Promise<unknown>;

async function createLoadBalancer(run: ApplyRun, a: ActionOf<'createLoadBalancer'>): Promise<void> {
  const { ownership } = run.deps;
  const created = await run.deps.slb.createLoadBalancer({
    regionId: run.regionId,
    loadBalancerName: ownedName(ownership, a.lb.name),
    addressType: a.create.addressType,
    loadBalancerSpec: a.create.spec,
    internetChargeType: a.create.internetChargeType,
    ...(a.create.bandwidth !== undefined ? { bandwidth: a.create.bandwidth } : {}),
    ...(a.create.vSwitchId ? { vSwitchId: a.create.vSwitchId } : {}),
    clientToken: clientToken(run.spec, ownership, a.lb.name),
    tags: [...markerTags(ownership), ...(run.options.createTags ?? [])],
  });
  run.lbIds.set(a.lb.name, created.loadBalancerId);
}

async function createVServerGroup(run: ApplyRun, a: ActionOf<'createVServerGroup'>): Promise<void> {
  const created = await run.deps.slb.createVServerGroup({
    regionId: run.regionId,
    loadBalancerId: lbId(run, a),
    vServerGroupName: a.group,
    backendServers: a.backends.map(backendModel),
    tags: markerTags(run.deps.ownership),
  });
  run.groupIds.set(`${a.lb.name}/${a.group}`, created.vServerGroupId);
}

/** SetVServerGroupAttribute takes each member whole: the spec's fields, with the planned changes on top. */
function setBackendWeights(run: ApplyRun, a: ActionOf<'setBackendWeights'>): Promise<unknown> {
  const desired = desiredFromSpec(run.spec)
    .find((d) => d.name === a.lb.name)
    ?.groups.find((g) => g.name === a.group)?.backends;
  return run.deps.slb.setVServerGroupAttribute({
    regionId: run.regionId,
    vServerGroupId: groupId(run, a, a.group),
    backendServers: a.backends.map((b) => {
      const d = desired?.find((x) => x.serverId === b.serverId && x.port === b.port);
      return { ...(d ? backendModel(d) : {}), ...b };
    }),
  });
}

async function createListener(run: ApplyRun, a: ActionOf<'createListener'>): Promise<void> {
  const l = a.listener;
  const settings: ListenerSettings = {
    bandwidth: l.bandwidth,
    scheduler: l.scheduler,
    ...(l.vServerGroup ? { vServerGroupId: groupId(run, a, l.vServerGroup) } : {}),
    ...(l.healthCheck ? { healthCheck: toHealthCheck(l.healthCheck) } : {}),
    attributes: {
      StickySession: l.stickySession ? 'on' : 'off',
      ...(l.protocol === 'https' && l.http2 !== undefined ? { EnableHttp2: l.http2 ? 'on' : 'off' } : {}),
    },
  };
  const base = {
    regionId: run.regionId,
    loadBalancerId: lbId(run, a),
    listenerPort: l.port,
    ...settings,
    tags: markerTags(run.deps.ownership),
  };
  if (l.protocol === 'https')
    await run.deps.slb.createHttpsListener({
      ...base,
      serverCertificateId: await certificate(run, `${a.lb.name}:${l.port}`),
    });
  else
    await run.deps.slb.createHttpListener({
      ...base,
      ...(l.redirectPort !== undefined ? { forwardPort: l.redirectPort } : {}),
    });
}

function setListenerAttribute(run: ApplyRun, a: ActionOf<'setListenerAttribute'>): Promise<void> {
  const c = a.changes;
  const req = {
    regionId: run.regionId,
    loadBalancerId: lbId(run, a),
    listenerPort: a.port,
    ...(c.bandwidth !== undefined ? { bandwidth: c.bandwidth } : {}),
    ...(c.scheduler !== undefined ? { scheduler: c.scheduler } : {}),
    ...(c.vServerGroup !== undefined ? { vServerGroupId: groupId(run, a, c.vServerGroup) } : {}),
    ...(c.healthCheck ? { healthCheck: toHealthCheck(c.healthCheck) } : {}),
    attributes: {
      ...(c.stickySession !== undefined ? { StickySession: c.stickySession ? 'on' : 'off' } : {}),
      ...(c.http2 !== undefined ? { EnableHttp2: c.http2 ? 'on' : 'off' } : {}),
    },
  };
  return a.protocol === 'https'
    ? run.deps.slb.setHttpsListenerAttribute(req)
    : run.deps.slb.setHttpListenerAttribute(req);
}

function createRule(run: ApplyRun, a: ActionOf<'createRule'>): Promise<unknown> {
  return run.deps.slb.createRules({
    regionId: run.regionId,
    loadBalancerId: lbId(run, a),
    listenerPort: a.port,
    rules: [
      {
        ruleName: a.rule.name,
        ...(a.rule.domain ? { domain: a.rule.domain } : {}),
        ...(a.rule.url ? { url: a.rule.url } : {}),
        vServerGroupId: groupId(run, a, a.rule.vServerGroup),
      },
    ],
  });
}

function renameRule(run: ApplyRun, a: ActionOf<'renameRule'>): Promise<void> {
  return run.deps.slb.setRule({
    regionId: run.regionId,
    ruleId: a.ruleId,
    ruleName: a.name,
    ...(a.vServerGroup !== undefined ? { vServerGroupId: groupId(run, a, a.vServerGroup) } : {}),
  });
}

async function createDomainExtension(run: ApplyRun, a: ActionOf<'createDomainExtension'>): Promise<unknown> {
  return run.deps.slb.createDomainExtension({
    regionId: run.regionId,
    loadBalancerId: lbId(run, a),
    listenerPort: a.port,
    domain: a.domain,
    serverCertificateId: await certificate(run, `${a.lb.name}:${a.port}:${a.domain}`),
  });
}

/** How each kind of action is written: one entry per kind, so a new kind without a writer does not compile. */
const RUNNERS: { [K in Action['kind']]: Runner<K> } = {
  createLoadBalancer,
  createVServerGroup,
  addBackends: (run, a) =>
    run.deps.slb.addBackendServers({
      regionId: run.regionId,
      vServerGroupId: groupId(run, a, a.group),
      backendServers: a.backends.map(backendModel),
    }),
  removeBackends: (run, a) =>
    run.deps.slb.removeBackendServers({
      regionId: run.regionId,
      vServerGroupId: groupId(run, a, a.group),
      backendServers: a.backends,
    }),
  setBackendWeights,
  createListener,
  setListenerAttribute,
  startListener: (run, a) => run.deps.slb.startListener(listenerRef(run, a)),
  deleteListener: (run, a) => run.deps.slb.deleteListener(listenerRef(run, a)),
  deleteVServerGroup: (run, a) =>
    run.deps.slb.deleteVServerGroup({ regionId: run.regionId, vServerGroupId: a.vServerGroupId }),
  createRule,
  setRuleGroup: (run, a) =>
    run.deps.slb.setRule({
      regionId: run.regionId,
      ruleId: a.ruleId,
      vServerGroupId: groupId(run, a, a.vServerGroup),
    }),
  renameRule,
  deleteRule: (run, a) => run.deps.slb.deleteRules({ regionId: run.regionId, ruleIds: [a.ruleId] }),
  createDomainExtension,
  deleteDomainExtension: (run, a) =>
    run.deps.slb.deleteDomainExtension({ regionId: run.regionId, domainExtensionId: a.domainExtensionId }),
  setListenerCertificate: (run, a) =>
    run.deps.slb.setHttpsListenerAttribute({
      regionId: run.regionId,
      loadBalancerId: lbId(run, a),
      listenerPort: a.port,
      serverCertificateId: a.serverCertificateId,
    }),
  setDomainExtensionCertificate: (run, a) =>
    run.deps.slb.setDomainExtensionCertificate({
      regionId: run.regionId,
      domainExtensionId: a.domainExtensionId,
      serverCertificateId: a.serverCertificateId,
    }),
  deleteCertificate: (run, a) =>
    run.deps.slb.deleteServerCertificate({
      regionId: run.regionId,
      serverCertificateId: a.serverCertificateId,
    }),
};

/** One action's writes. */
function runAction(run: ApplyRun, a: Action): Promise<unknown> {
  return (RUNNERS[a.kind] as (run: ApplyRun, a: Action) => Promise<unknown>)(run, a);
}

const asError = (err: unknown): Error =>
  err instanceof Error ? err : new Error(String(err), { cause: err });
const uploads = (run: ApplyRun) => run.resolver.uploads().map((c) => c.serverCertificateId);

/** A plan action as the executor runs it: numbered in the whole run, described for people. */
interface Step extends PlannedAction {
  action: Action;
}

/**
 * Runs actions in plan order through the executor (one at a time, stopping at the first failure,
 * `before` as the guard before each write); the failure result when one fails, undefined when all are done.
 */
async function runActions(
  run: ApplyRun,
  actions: readonly Action[],
  plan: Plan,
  before?: () => Promise<void>,
): Promise<ApplyResult | undefined> {
  const offset = run.done.length;
  const steps = actions.map(
    (action, i): Step => ({
      id: String(offset + i + 1),
      kind: action.kind,
      reason: describeAction(action),
      action,
    }),
  );
  const execution = await execute(steps, (step) => ({ run: () => runAction(run, step.action) }), {
    ...(before ? { beforeEach: before } : {}),
    onProgress: (e) =>
      run.options.onProgress?.({
        index: offset + e.index,
        total: run.total,
        action: e.action.action,
        text: e.action.reason,
        status: e.status,
      }),
  });
  for (const r of execution.results) if (r.status === 'done') run.done.push(r.action.action);
  const failedAt = execution.results.findIndex((r) => r.status === 'failed');
  const failed = execution.results[failedAt];
  if (!failed) return undefined;
  return {
    plan,
    done: [...run.done],
    failed: {
      action: failed.action.action,
      error: asError(failed.thrown),
      report: errorReport(failed.thrown),
    },
    remaining: actions.slice(failedAt + 1),
    uploadedCertificates: uploads(run),
  };
}

/**
 * Observes, plans and applies the spec; stops at the first failed action. Writes happen under the
 * lease of every load balancer involved (shared/workflows/lease.ts), on a plan made after taking it:
 * two applies at once never interleave, and the second plans on what the first left. Load balancers
 * to create are created first (a client token makes two concurrent creates one), then leased.
 */
export async function applySpec(
  deps: ApplyDeps,
  spec: Spec,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const regionId = spec.region;
  const first = await observeAndPlan(deps.slb, spec, deps.ownership);
  if (first.plan.actions.length === 0) {
    // Nothing to change, so nothing to write and no lease to take.
    options.onPlan?.(first.plan);
    return { plan: first.plan, done: [], remaining: [], uploadedCertificates: [] };
  }
  // Certificates first, and without writing: a bad source stops the apply before any change.
  await prepareCertificates(createCertificateResolver({ ...deps, regionId }), first.plan);
  options.onPlan?.(first.plan);
  const run: ApplyRun = {
    deps,
    spec,
    regionId,
    options,
    lbIds: new Map(),
    groupIds: new Map(),
    resolver: createCertificateResolver({ ...deps, regionId }),
    needs: new Map(),
    done: [],
    total: first.plan.actions.length,
  };
  knowGroups(run, first.observed);
  // New load balancers: nothing exists yet to hold a lease on; the client token makes retries and
  // concurrent applies create one.
  const creates = first.plan.actions.filter((a) => a.kind === 'createLoadBalancer');
  return (await runActions(run, creates, first.plan)) ?? applyLeased(run, creates, first.plan);
}

/** The rest of the apply, under the lease of every load balancer involved. */
async function applyLeased(run: ApplyRun, creates: readonly Action[], firstPlan: Plan): Promise<ApplyResult> {
  const { deps } = run;
  const leaseDeps = {
    slb: deps.slb,
    regionId: run.regionId,
    now: deps.now,
    ...(deps.lease ? { lease: deps.lease } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  };
  let started = false;
  try {
    return await withLoadBalancerLeases(
      leaseDeps,
      [...run.lbIds.values()],
      `apply@${deps.ownership.deploymentId}`,
      (leases) => {
        started = true;
        return applyFresh(run, creates, leases);
      },
    );
  } catch (err) {
    // Taking the lease failed on a cloud error (not because another writer holds it): report it like a
    // failed action, with what was done before (a created load balancer).
    if (started || err instanceof LeaseUnavailableError) throw err;
    const next = firstPlan.actions.filter((a) => a.kind !== 'createLoadBalancer');
    return {
      plan: firstPlan,
      done: run.done,
      failed: {
        action: next[0] ?? (firstPlan.actions[0] as Action),
        error: asError(err),
        report: errorReport(err),
      },
      remaining: next.slice(1),
      uploadedCertificates: uploads(run),
    };
  }
}

/**
 * Plans again on what the cloud holds now that no one else writes (another apply may have finished
 * while this one waited), and runs that plan, checking the leases before every write.
 */
async function applyFresh(
  run: ApplyRun,
  creates: readonly Action[],
  leases: readonly { checkpoint: () => Promise<void> }[],
): Promise<ApplyResult> {
  const fresh = await observeAndPlan(run.deps.slb, run.spec, run.deps.ownership);
  knowGroups(run, fresh.observed);
  // A new reference never takes a duplicate copy this plan deletes (it would then be in use).
  const avoid = new Set(
    fresh.plan.actions.flatMap((x) => (x.kind === 'deleteCertificate' ? [x.serverCertificateId] : [])),
  );
  run.resolver = createCertificateResolver({ ...run.deps, regionId: run.regionId, avoid });
  run.needs = await prepareCertificates(run.resolver, fresh.plan);
  const plan: Plan = { actions: [...creates, ...fresh.plan.actions], leftAlone: fresh.plan.leftAlone };
  run.total = plan.actions.length;
  const failed = await runActions(run, fresh.plan.actions, plan, async () => {
    for (const l of leases) await l.checkpoint();
  });
  return failed ?? { plan, done: run.done, remaining: [], uploadedCertificates: uploads(run) };
}
