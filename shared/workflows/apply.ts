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
import {
  type BackendModel,
  desiredFromSpec,
  type HealthCheckModel,
  type LoadBalancerModel,
} from '../domain/model';
import { type Action, describeAction, type Plan, planAll } from '../domain/plan';
import type { Spec } from '../domain/spec';
import {
  type CertificateResolver,
  createCertificateResolver,
  type ResolvedCertificate,
} from './certificate-source';
import { observeLoadBalancers } from './observe';

export interface ApplyDeps {
  slb: SlbClient;
  cas: CasClient;
  now: () => Date;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
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
): Promise<{ plan: Plan; desired: LoadBalancerModel[]; observed: LoadBalancerModel[] }> {
  const desired = desiredFromSpec(spec);
  const observed = await observeLoadBalancers(slb, spec.region, desired, spec.ownership);
  return { plan: planAll(desired, observed), desired, observed };
}

/** Same spec, same token: a retried CreateLoadBalancer does not make a second one. */
function clientToken(spec: Spec, name: string): string {
  return createHash('sha256')
    .update(`${spec.region}\n${spec.ownership.namePrefix}${name}`)
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

/** Observes, plans and applies the spec; stops at the first failed action. */
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
  const { plan, observed } = await observeAndPlan(slb, spec);
  const marker: Tag[] = [{ key: spec.ownership.tagKey, value: spec.ownership.tagValue }];

  const lbIds = new Map<string, string>();
  const groupIds = new Map<string, string>();
  for (const o of observed) {
    if (o.loadBalancerId) lbIds.set(o.name, o.loadBalancerId);
    for (const g of o.groups) if (g.vServerGroupId) groupIds.set(`${o.name}/${g.name}`, g.vServerGroupId);
  }
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

  // Certificates first, and without writing: a bad source stops the apply before any change.
  const resolver: CertificateResolver = createCertificateResolver({
    ...deps,
    regionId,
    ownership: spec.ownership,
  });
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
  const certificate = async (key: string): Promise<string> => {
    const upload = needs.get(key);
    if (!upload) throw new Error(`no certificate prepared for ${key}`);
    return (await upload()).serverCertificateId;
  };

  async function run(a: Action): Promise<void> {
    switch (a.kind) {
      case 'createLoadBalancer': {
        const created = await slb.createLoadBalancer({
          regionId,
          loadBalancerName: `${spec.ownership.namePrefix}${a.lb.name}`,
          addressType: a.create.addressType,
          loadBalancerSpec: a.create.spec,
          internetChargeType: a.create.internetChargeType,
          ...(a.create.bandwidth !== undefined ? { bandwidth: a.create.bandwidth } : {}),
          ...(a.create.vSwitchId ? { vSwitchId: a.create.vSwitchId } : {}),
          clientToken: clientToken(spec, a.lb.name),
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
        await slb.startListener({
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          protocol: a.protocol,
        });
        return;
      case 'deleteListener':
        await slb.deleteListener({
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          protocol: a.protocol,
        });
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
      case 'createDomainExtension':
        await slb.createDomainExtension({
          regionId,
          loadBalancerId: lbId(a),
          listenerPort: a.port,
          domain: a.domain,
          serverCertificateId: await certificate(`${a.lb.name}:${a.port}:${a.domain}`),
        });
        return;
    }
  }

  options.onPlan?.(plan);
  const done: Action[] = [];
  const total = plan.actions.length;
  for (const [i, a] of plan.actions.entries()) {
    const event = { index: i + 1, total, action: a, text: describeAction(a) };
    options.onProgress?.({ ...event, status: 'started' });
    try {
      await run(a);
    } catch (err) {
      options.onProgress?.({ ...event, status: 'failed' });
      return {
        plan,
        done,
        failed: { action: a, error: err instanceof Error ? err : new Error(String(err)) },
        remaining: plan.actions.slice(i + 1),
        uploadedCertificates: resolver.uploads().map((c) => c.serverCertificateId),
      };
    }
    done.push(a);
    options.onProgress?.({ ...event, status: 'done' });
  }
  return {
    plan,
    done,
    remaining: [],
    uploadedCertificates: resolver.uploads().map((c) => c.serverCertificateId),
  };
}
