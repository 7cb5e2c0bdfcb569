// Plan and apply a spec: observe -> plan (pure) -> check every certificate source -> execute the
// actions in order. Idempotent by construction: every action is absolute and a re-run observes again,
// so after a failure (the run stops at the first failed action and reports what it did) the next
// apply plans only what is still missing. Nothing is written when the spec or a certificate source is
// bad: those are checked before the first write. What we create carries our marker: load balancers
// are named `<namePrefix><name>` and tagged; groups and uploaded certificates are tagged.

import { createHash } from 'node:crypto';
import type { CasClient } from '../cloud/cas';
import type { SlbClient } from '../cloud/slb';
import type { HealthCheck, ListenerSettings } from '../cloud/slb/listeners';
import type { Tag } from '../cloud/slb/wire';
import { checkNewLoadBalancers, checkSpecLimits, type DeploymentLimits } from '../domain/limits';
import {
  type BackendModel,
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
import {
  type CertificateResolver,
  createCertificateResolver,
  type ResolvedCertificate,
} from './certificate-source';
import { type LeaseOptions, LeaseUnavailableError, withLoadBalancerLeases } from './lease';
import { observeLoadBalancers } from './observe';

export interface ApplyDeps {
  slb: SlbClient;
  cas: CasClient;
  now: () => Date;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  /** this deployment's marker: what apply creates carries it; only what carries it is deleted */
  ownership: OwnershipMarker;
  /** the per-load-balancer writer lease (default DEFAULT_LEASE) */
  lease?: LeaseOptions;
  sleep?: (ms: number) => Promise<void>;
}

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
  /** the action that failed, and why; the run stopped there */
  failed?: { action: Action; error: Error };
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
  const elsewhere = new Set<string>();
  if (others.length > 0) {
    for (const l of await slb.describeListeners({ regionId, loadBalancerIds: others, protocol: 'https' })) {
      if (l.listenerProtocol !== 'https') continue;
      const detail = await slb.describeHttpsListener({
        regionId,
        loadBalancerId: l.loadBalancerId,
        listenerPort: l.listenerPort,
      });
      if (detail.serverCertificateId) elsewhere.add(detail.serverCertificateId);
      for (const d of detail.domainExtensions) elsewhere.add(d.serverCertificateId);
    }
  }
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

const backendServer = (b: BackendModel) => ({
  serverId: b.serverId,
  port: b.port,
  weight: b.weight,
  type: b.type,
  ...(b.serverIp ? { serverIp: b.serverIp } : {}),
  ...(b.description ? { description: b.description } : {}),
});

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

/**
 * Observes, plans and applies the spec; stops at the first failed action. Writes happen under the
 * lease of every load balancer involved (shared/workflows/lease.ts), on a plan made after taking it:
 * two applies at once never interleave, and the second plans on what the first left. Load balancers
 * to create are created first (a client token makes two concurrent creates one), then leased.
 */
export async function applySpec(
  deps: ApplyDeps,
  spec: Spec,
  options: {
    /** called once with the plan, after the certificate checks and before the first write */
    onPlan?: (plan: Plan) => void;
    onProgress?: (e: ProgressEvent) => void;
    /** more tags for the load balancers this apply creates (the provisioning API's applied-at record) */
    createTags?: Tag[];
  } = {},
): Promise<ApplyResult> {
  const regionId = spec.region;
  const { slb } = deps;
  const first = await observeAndPlan(slb, spec, deps.ownership);
  if (first.plan.actions.length === 0) {
    // Nothing to change, so nothing to write and no lease to take.
    options.onPlan?.(first.plan);
    return { plan: first.plan, done: [], remaining: [], uploadedCertificates: [] };
  }
  // Certificates first, and without writing: a bad source stops the apply before any change.
  await prepareCertificates(createCertificateResolver({ ...deps, regionId }), first.plan);
  options.onPlan?.(first.plan);

  const marker: Tag[] = markerTags(deps.ownership);
  const lbIds = new Map<string, string>();
  const groupIds = new Map<string, string>();
  const knowGroups = (observed: readonly LoadBalancerModel[]) => {
    for (const o of observed) {
      if (o.loadBalancerId) lbIds.set(o.name, o.loadBalancerId);
      for (const g of o.groups)
        if (g.vServerGroupId && !g.duplicateOf) groupIds.set(`${o.name}/${g.name}`, g.vServerGroupId);
    }
  };
  knowGroups(first.observed);
  const lbId = (a: Action): string => {
    const id = a.lb.loadBalancerId ?? lbIds.get(a.lb.name);
    if (!id) throw new Error(`load balancer ${a.lb.name} does not exist yet`);
    return id;
  };
  const groupId = (a: Action, group: string): string => {
    const id = groupIds.get(`${a.lb.name}/${group}`);
    if (!id) throw new Error(`VServer group ${group} of ${a.lb.name} does not exist yet`);
    return id;
  };
  let resolver: CertificateResolver = createCertificateResolver({ ...deps, regionId });
  let needs = new Map<string, () => Promise<ResolvedCertificate>>();
  const certificate = async (key: string): Promise<string> => {
    const upload = needs.get(key);
    if (!upload) throw new Error(`no certificate prepared for ${key}`);
    return (await upload()).serverCertificateId;
  };

  const listenerRef = (a: Action & { port: number; protocol: 'http' | 'https' }) => ({
    regionId,
    loadBalancerId: lbId(a),
    listenerPort: a.port,
    protocol: a.protocol,
  });

  async function run(a: Action): Promise<void> {
    switch (a.kind) {
      case 'createLoadBalancer': {
        const created = await slb.createLoadBalancer({
          regionId,
          loadBalancerName: ownedName(deps.ownership, a.lb.name),
          addressType: a.create.addressType,
          loadBalancerSpec: a.create.spec,
          internetChargeType: a.create.internetChargeType,
          ...(a.create.bandwidth !== undefined ? { bandwidth: a.create.bandwidth } : {}),
          ...(a.create.vSwitchId ? { vSwitchId: a.create.vSwitchId } : {}),
          clientToken: clientToken(spec, deps.ownership, a.lb.name),
          tags: [...marker, ...(options.createTags ?? [])],
        });
        lbIds.set(a.lb.name, created.loadBalancerId);
        return;
      }
      case 'createVServerGroup': {
        const created = await slb.createVServerGroup({
          regionId,
          loadBalancerId: lbId(a),
          vServerGroupName: a.group,
          backendServers: a.backends.map(backendServer),
          tags: marker,
        });
        groupIds.set(`${a.lb.name}/${a.group}`, created.vServerGroupId);
        return;
      }
      case 'addBackends':
        await slb.addBackendServers({
          regionId,
          vServerGroupId: groupId(a, a.group),
          backendServers: a.backends.map(backendServer),
        });
        return;
      case 'removeBackends':
        await slb.removeBackendServers({
          regionId,
          vServerGroupId: groupId(a, a.group),
          backendServers: a.backends,
        });
        return;
      case 'setBackendWeights': {
        const desired = desiredFromSpec(spec)
          .find((d) => d.name === a.lb.name)
          ?.groups.find((g) => g.name === a.group)?.backends;
        await slb.setVServerGroupAttribute({
          regionId,
          vServerGroupId: groupId(a, a.group),
          backendServers: a.backends.map((b) => {
            const d = desired?.find((x) => x.serverId === b.serverId && x.port === b.port);
            return { ...(d ? backendServer(d) : {}), ...b };
          }),
        });
        return;
      }
      case 'createListener': {
        const l = a.listener;
        const settings: ListenerSettings = {
          bandwidth: l.bandwidth,
          scheduler: l.scheduler,
          ...(l.vServerGroup ? { vServerGroupId: groupId(a, l.vServerGroup) } : {}),
          ...(l.healthCheck ? { healthCheck: toHealthCheck(l.healthCheck) } : {}),
          attributes: {
            StickySession: l.stickySession ? 'on' : 'off',
            ...(l.protocol === 'https' && l.http2 !== undefined
              ? { EnableHttp2: l.http2 ? 'on' : 'off' }
              : {}),
          },
        };
        const base = { regionId, loadBalancerId: lbId(a), listenerPort: l.port, ...settings, tags: marker };
        if (l.protocol === 'https') {
          await slb.createHttpsListener({
            ...base,
            serverCertificateId: await certificate(`${a.lb.name}:${l.port}`),
          });
        } else {
          await slb.createHttpListener({
            ...base,
            ...(l.redirectPort !== undefined ? { forwardPort: l.redirectPort } : {}),
          });
        }
        return;
      }
      case 'setListenerAttribute': {
        const c = a.changes;
        const req = {
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          ...(c.bandwidth !== undefined ? { bandwidth: c.bandwidth } : {}),
          ...(c.scheduler !== undefined ? { scheduler: c.scheduler } : {}),
          ...(c.vServerGroup !== undefined ? { vServerGroupId: groupId(a, c.vServerGroup) } : {}),
          ...(c.healthCheck ? { healthCheck: toHealthCheck(c.healthCheck) } : {}),
          attributes: {
            ...(c.stickySession !== undefined ? { StickySession: c.stickySession ? 'on' : 'off' } : {}),
            ...(c.http2 !== undefined ? { EnableHttp2: c.http2 ? 'on' : 'off' } : {}),
          },
        };
        if (a.protocol === 'https') await slb.setHttpsListenerAttribute(req);
        else await slb.setHttpListenerAttribute(req);
        return;
      }
      case 'startListener':
        await slb.startListener(listenerRef(a));
        return;
      case 'deleteListener':
        await slb.deleteListener(listenerRef(a));
        return;
      case 'deleteVServerGroup':
        await slb.deleteVServerGroup({ regionId, vServerGroupId: a.vServerGroupId });
        return;
      case 'createRule':
        await slb.createRules({
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          rules: [
            {
              ruleName: a.rule.name,
              ...(a.rule.domain ? { domain: a.rule.domain } : {}),
              ...(a.rule.url ? { url: a.rule.url } : {}),
              vServerGroupId: groupId(a, a.rule.vServerGroup),
            },
          ],
        });
        return;
      case 'setRuleGroup':
        await slb.setRule({ regionId, ruleId: a.ruleId, vServerGroupId: groupId(a, a.vServerGroup) });
        return;
      case 'renameRule':
        await slb.setRule({
          regionId,
          ruleId: a.ruleId,
          ruleName: a.name,
          ...(a.vServerGroup !== undefined ? { vServerGroupId: groupId(a, a.vServerGroup) } : {}),
        });
        return;
      case 'deleteRule':
        await slb.deleteRules({ regionId, ruleIds: [a.ruleId] });
        return;
      case 'deleteDomainExtension':
        await slb.deleteDomainExtension({ regionId, domainExtensionId: a.domainExtensionId });
        return;
      case 'createDomainExtension':
        await slb.createDomainExtension({
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          domain: a.domain,
          serverCertificateId: await certificate(`${a.lb.name}:${a.port}:${a.domain}`),
        });
        return;
      case 'setListenerCertificate':
        await slb.setHttpsListenerAttribute({
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          serverCertificateId: a.serverCertificateId,
        });
        return;
      case 'setDomainExtensionCertificate':
        await slb.setDomainExtensionCertificate({
          regionId,
          domainExtensionId: a.domainExtensionId,
          serverCertificateId: a.serverCertificateId,
        });
        return;
      case 'deleteCertificate':
        await slb.deleteServerCertificate({ regionId, serverCertificateId: a.serverCertificateId });
        return;
    }
  }

  const done: Action[] = [];
  const uploads = () => resolver.uploads().map((c) => c.serverCertificateId);
  let total = first.plan.actions.length;
  /** Runs actions in order; the failure result when one fails, undefined when all are done. */
  const runAll = async (
    actions: readonly Action[],
    plan: Plan,
    before?: () => Promise<void>,
  ): Promise<ApplyResult | undefined> => {
    for (const [i, a] of actions.entries()) {
      const event = { index: done.length + 1, total, action: a, text: describeAction(a) };
      options.onProgress?.({ ...event, status: 'started' });
      try {
        await before?.();
        await run(a);
      } catch (err) {
        options.onProgress?.({ ...event, status: 'failed' });
        return {
          plan,
          done: [...done],
          failed: { action: a, error: err instanceof Error ? err : new Error(String(err)) },
          remaining: actions.slice(i + 1),
          uploadedCertificates: uploads(),
        };
      }
      done.push(a);
      options.onProgress?.({ ...event, status: 'done' });
    }
    return undefined;
  };

  // New load balancers: nothing exists yet to hold a lease on; the client token makes retries and
  // concurrent applies create one.
  const creates = first.plan.actions.filter((a) => a.kind === 'createLoadBalancer');
  const failedCreate = await runAll(creates, first.plan);
  if (failedCreate) return failedCreate;

  const leaseDeps = {
    slb,
    regionId,
    now: deps.now,
    ...(deps.lease ? { lease: deps.lease } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  };
  let started = false;
  const leased = withLoadBalancerLeases(
    leaseDeps,
    [...lbIds.values()],
    `apply@${deps.ownership.deploymentId}`,
    async (leases) => {
      started = true;
      // Plan again on what the cloud holds now that no one else writes: another apply may have
      // finished while this one waited.
      const fresh = await observeAndPlan(slb, spec, deps.ownership);
      knowGroups(fresh.observed);
      // A new reference never takes a duplicate copy this plan deletes (it would then be in use).
      const avoid = new Set(
        fresh.plan.actions.flatMap((x) => (x.kind === 'deleteCertificate' ? [x.serverCertificateId] : [])),
      );
      resolver = createCertificateResolver({ ...deps, regionId, avoid });
      needs = await prepareCertificates(resolver, fresh.plan);
      const plan: Plan = { actions: [...creates, ...fresh.plan.actions], leftAlone: fresh.plan.leftAlone };
      total = plan.actions.length;
      const failed = await runAll(fresh.plan.actions, plan, async () => {
        for (const l of leases) await l.checkpoint();
      });
      return failed ?? { plan, done, remaining: [], uploadedCertificates: uploads() };
    },
  );
  return leased.catch((err: unknown) => {
    // Taking the lease failed on a cloud error (not because another writer holds it): report it like a
    // failed action, with what was done before (a created load balancer).
    if (started || err instanceof LeaseUnavailableError) throw err;
    const next = first.plan.actions.filter((a) => a.kind !== 'createLoadBalancer');
    return {
      plan: first.plan,
      done,
      failed: {
        action: next[0] ?? (first.plan.actions[0] as Action),
        error: err instanceof Error ? err : new Error(String(err)),
      },
      remaining: next.slice(1),
      uploadedCertificates: uploads(),
    };
  });
}
