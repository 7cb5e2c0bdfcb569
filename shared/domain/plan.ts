// The planner: desired (from the spec) vs observed (from the cloud) -> an ordered list of absolute,
// idempotent actions, plus what it left alone and why. Pure: no I/O, no clock.
// Order: load balancers, then groups (created; backends added, weighted, then unlisted ones removed), then
// listeners (created, reconfigured, then started), then rules and extension domains.
// Anything in the cloud that the spec does not name is never changed: it is listed in `leftAlone`,
// except what carries our ownership tag (we created it), which is deleted once nothing needs it.

import { FAILOVER_TAGS } from './failover';
import type {
  BackendModel,
  ExtensionDomainModel,
  GroupModel,
  HealthCheckModel,
  ListenerModel,
  LoadBalancerModel,
  RuleModel,
} from './model';
import type { CertificateSource } from './spec';

/** Which load balancer an action is about: its id, or the spec name of one created earlier in the plan. */
export interface LbRef {
  name: string;
  loadBalancerId?: string;
}

export type ListenerChanges = Partial<
  Pick<ListenerModel, 'bandwidth' | 'scheduler' | 'vServerGroup' | 'stickySession' | 'http2'> & {
    healthCheck: Partial<HealthCheckModel>;
  }
>;

export type Action =
  | { kind: 'createLoadBalancer'; lb: LbRef; create: NonNullable<LoadBalancerModel['create']> }
  | { kind: 'createVServerGroup'; lb: LbRef; group: string; backends: BackendModel[] }
  | { kind: 'addBackends'; lb: LbRef; group: string; backends: BackendModel[] }
  | {
      kind: 'removeBackends';
      lb: LbRef;
      group: string;
      backends: Pick<BackendModel, 'serverId' | 'port' | 'type' | 'serverIp'>[];
    }
  | {
      kind: 'setBackendWeights';
      lb: LbRef;
      group: string;
      backends: Pick<BackendModel, 'serverId' | 'port' | 'weight' | 'description'>[];
    }
  | { kind: 'createListener'; lb: LbRef; listener: ListenerModel }
  | {
      kind: 'setListenerAttribute';
      lb: LbRef;
      protocol: 'http' | 'https';
      port: number;
      changes: ListenerChanges;
    }
  | { kind: 'startListener'; lb: LbRef; protocol: 'http' | 'https'; port: number }
  | {
      kind: 'deleteListener';
      lb: LbRef;
      protocol: 'http' | 'https';
      port: number;
      /** deleted to be created again at once (a change no Set action makes) */
      replace?: true;
    }
  | {
      kind: 'deleteVServerGroup';
      lb: LbRef;
      group: string;
      vServerGroupId: string;
      /** set when it is a duplicate of the group kept under that name */
      duplicateOf?: string;
    }
  | { kind: 'createRule'; lb: LbRef; port: number; rule: RuleModel }
  | { kind: 'setRuleGroup'; lb: LbRef; port: number; rule: string; ruleId: string; vServerGroup: string }
  | {
      kind: 'createDomainExtension';
      lb: LbRef;
      port: number;
      domain: string;
      certificate: CertificateSource | undefined;
    }
  /** a duplicate certificate's reference moved to the kept copy (same fingerprint: what is served is unchanged) */
  | { kind: 'setListenerCertificate'; lb: LbRef; port: number; serverCertificateId: string }
  | {
      kind: 'setDomainExtensionCertificate';
      lb: LbRef;
      port: number;
      domain: string;
      domainExtensionId: string;
      serverCertificateId: string;
    }
  | { kind: 'deleteCertificate'; lb: LbRef; serverCertificateId: string; duplicateOf: string };

export interface LeftAlone {
  lb: string;
  what: string;
  why: string;
}

export interface Plan {
  actions: Action[];
  leftAlone: LeftAlone[];
}

const backendKey = (b: Pick<BackendModel, 'serverId' | 'port'>) => `${b.serverId}:${b.port}`;

function diffGroup(lb: LbRef, desired: GroupModel, observed: GroupModel | undefined, out: Plan): void {
  if (!observed) {
    out.actions.push({ kind: 'createVServerGroup', lb, group: desired.name, backends: desired.backends });
    return;
  }
  const have = new Map(observed.backends.map((b) => [backendKey(b), b]));
  const missing = desired.backends.filter((b) => !have.has(backendKey(b)));
  if (missing.length > 0)
    out.actions.push({ kind: 'addBackends', lb, group: desired.name, backends: missing });
  // While failover has the standby active, weights are the failover function's: apply must not undo it.
  const failedOver = observed.tags?.some((t) => t.key === FAILOVER_TAGS.active && t.value === 'standby');
  const changed = desired.backends.filter((b) => {
    const o = have.get(backendKey(b));
    return (
      o !== undefined &&
      ((o.weight !== b.weight && !failedOver) ||
        (b.description !== undefined && o.description !== b.description))
    );
  });
  if (failedOver && desired.backends.some((b) => have.get(backendKey(b))?.weight !== b.weight))
    out.leftAlone.push({
      lb: lb.name,
      what: `weights in group ${desired.name}`,
      why: 'failover has the standby pool active; weights return to the spec when it fails back',
    });
  if (changed.length > 0) {
    out.actions.push({
      kind: 'setBackendWeights',
      lb,
      group: desired.name,
      backends: changed.map((b) => ({
        serverId: b.serverId,
        port: b.port,
        weight: failedOver ? (have.get(backendKey(b))?.weight ?? b.weight) : b.weight,
        ...(b.description ? { description: b.description } : {}),
      })),
    });
  }
  // Removed last, after the new members are in and weighted: the group never runs short.
  const wanted = new Set(desired.backends.map(backendKey));
  const unlisted = observed.backends.filter((b) => !wanted.has(backendKey(b)));
  if (unlisted.length > 0 && (desired.exclusive || observed.owned)) {
    out.actions.push({
      kind: 'removeBackends',
      lb,
      group: desired.name,
      backends: unlisted.map((b) => ({
        serverId: b.serverId,
        port: b.port,
        type: b.type,
        ...(b.serverIp ? { serverIp: b.serverIp } : {}),
      })),
    });
  } else {
    for (const b of unlisted)
      out.leftAlone.push({
        lb: lb.name,
        what: `backend ${backendKey(b)} in group ${desired.name}`,
        why: 'not in the spec; the group is adopted, so its other members are kept (set exclusive: true to remove them)',
      });
  }
}

/** The health-check fields the spec sets that differ from what is observed. */
function healthCheckChanges(
  desired: HealthCheckModel | undefined,
  observed: HealthCheckModel | undefined,
): Partial<HealthCheckModel> {
  if (!desired) return {};
  const changes: Partial<HealthCheckModel> = {};
  const o: Partial<HealthCheckModel> = observed ?? {};
  if (desired.enabled !== (o.enabled ?? false)) changes.enabled = desired.enabled;
  if (!desired.enabled) return changes;
  for (const key of [
    'path',
    'domain',
    'port',
    'interval',
    'healthyThreshold',
    'unhealthyThreshold',
    'timeout',
    'method',
  ] as const) {
    if (desired[key] !== undefined && desired[key] !== o[key])
      Object.assign(changes, { [key]: desired[key] });
  }
  if (
    desired.httpCodes &&
    [...desired.httpCodes].sort().join(',') !== [...(o.httpCodes ?? [])].sort().join(',')
  ) {
    changes.httpCodes = desired.httpCodes;
  }
  return changes;
}

function listenerChanges(d: ListenerModel, o: ListenerModel): ListenerChanges {
  const c: ListenerChanges = {};
  if (d.bandwidth !== o.bandwidth) c.bandwidth = d.bandwidth;
  if (d.scheduler !== o.scheduler) c.scheduler = d.scheduler;
  if (d.vServerGroup !== undefined && d.vServerGroup !== o.vServerGroup) c.vServerGroup = d.vServerGroup;
  if (d.stickySession !== o.stickySession) c.stickySession = d.stickySession;
  if (d.http2 !== undefined && d.http2 !== o.http2) c.http2 = d.http2;
  const hc = healthCheckChanges(d.healthCheck, o.healthCheck);
  if (Object.keys(hc).length > 0) c.healthCheck = hc;
  return c;
}

function diffRules(lb: LbRef, d: ListenerModel, o: ListenerModel, out: Plan): void {
  const have = new Map(o.rules.map((r) => [r.name, r]));
  for (const r of d.rules) {
    const existing = have.get(r.name);
    if (!existing) {
      out.actions.push({ kind: 'createRule', lb, port: d.port, rule: r });
    } else if ((existing.domain ?? '') !== (r.domain ?? '') || (existing.url ?? '') !== (r.url ?? '')) {
      out.leftAlone.push({
        lb: lb.name,
        what: `rule ${r.name} on port ${d.port}`,
        why: 'its domain or url differs from the spec; they cannot be changed in place and the rule is not ours to delete',
      });
    } else if (existing.vServerGroup !== r.vServerGroup && existing.ruleId) {
      out.actions.push({
        kind: 'setRuleGroup',
        lb,
        port: d.port,
        rule: r.name,
        ruleId: existing.ruleId,
        vServerGroup: r.vServerGroup,
      });
    }
  }
  const wanted = new Set(d.rules.map((r) => r.name));
  for (const r of o.rules) {
    if (!wanted.has(r.name))
      out.leftAlone.push({ lb: lb.name, what: `rule ${r.name} on port ${d.port}`, why: 'not in the spec' });
  }
}

function diffExtensionDomains(lb: LbRef, d: ListenerModel, o: ListenerModel, out: Plan): void {
  const have = new Set(o.extensionDomains.map((x) => x.domain.toLowerCase()));
  for (const x of d.extensionDomains) {
    if (!have.has(x.domain.toLowerCase())) {
      out.actions.push({
        kind: 'createDomainExtension',
        lb,
        port: d.port,
        domain: x.domain,
        certificate: x.certificate,
      });
    }
  }
  const wanted = new Set(d.extensionDomains.map((x: ExtensionDomainModel) => x.domain.toLowerCase()));
  for (const x of o.extensionDomains) {
    if (!wanted.has(x.domain.toLowerCase()))
      out.leftAlone.push({
        lb: lb.name,
        what: `extension domain ${x.domain} on port ${d.port}`,
        why: 'not in the spec',
      });
  }
}

export function planLoadBalancer(desired: LoadBalancerModel, observed: LoadBalancerModel | undefined): Plan {
  const out: Plan = { actions: [], leftAlone: [] };
  const lb: LbRef = {
    name: desired.name,
    ...((observed?.loadBalancerId ?? desired.loadBalancerId)
      ? { loadBalancerId: observed?.loadBalancerId ?? desired.loadBalancerId }
      : {}),
  };
  if (!observed) {
    if (!desired.create) {
      out.leftAlone.push({
        lb: desired.name,
        what: `load balancer ${desired.loadBalancerId}`,
        why: 'the spec adopts it by id, but it does not exist in the region',
      });
      return out;
    }
    out.actions.push({ kind: 'createLoadBalancer', lb, create: desired.create });
  }
  const empty: LoadBalancerModel = { name: desired.name, listeners: [], groups: [] };
  const o = observed ?? empty;

  for (const g of desired.groups)
    diffGroup(
      lb,
      g,
      o.groups.find((x) => x.name === g.name && !x.duplicateOf),
      out,
    );

  // HTTPS before HTTP: an HTTP listener may redirect to an HTTPS one created in the same plan.
  const ordered = [...desired.listeners].sort((a, b) =>
    a.protocol === b.protocol ? a.port - b.port : a.protocol === 'https' ? -1 : 1,
  );
  const starts: Action[] = [];
  for (const d of ordered) {
    const ol = o.listeners.find((x) => x.port === d.port);
    if (!ol) {
      out.actions.push({ kind: 'createListener', lb, listener: d });
      starts.push({ kind: 'startListener', lb, protocol: d.protocol, port: d.port });
      continue;
    }
    if (ol.protocol !== d.protocol) {
      out.leftAlone.push({
        lb: lb.name,
        what: `${ol.protocol} listener on port ${d.port}`,
        why: `the spec wants ${d.protocol} there; replacing a listener is not done automatically`,
      });
      continue;
    }
    // No Set action changes a redirect (SetLoadBalancerHTTPListenerAttribute has no ListenerForward or
    // ForwardPort in the official model; Terraform marks both ForceNew): the listener is replaced.
    if (d.redirectPort !== ol.redirectPort) {
      out.actions.push(
        { kind: 'deleteListener', lb, protocol: d.protocol, port: d.port, replace: true },
        { kind: 'createListener', lb, listener: d },
        ...d.rules.map((r): Action => ({ kind: 'createRule', lb, port: d.port, rule: r })),
      );
      starts.push({ kind: 'startListener', lb, protocol: d.protocol, port: d.port });
      continue;
    }
    const changes = listenerChanges(d, ol);
    if (Object.keys(changes).length > 0)
      out.actions.push({ kind: 'setListenerAttribute', lb, protocol: d.protocol, port: d.port, changes });
    if (!ol.running) starts.push({ kind: 'startListener', lb, protocol: d.protocol, port: d.port });
    diffRules(lb, d, ol, out);
    if (d.protocol === 'https') diffExtensionDomains(lb, d, ol, out);
  }
  // New listeners get their rules and extension domains after they exist.
  for (const d of ordered) {
    if (o.listeners.some((x) => x.port === d.port)) continue;
    for (const r of d.rules) out.actions.push({ kind: 'createRule', lb, port: d.port, rule: r });
    for (const x of d.extensionDomains)
      out.actions.push({
        kind: 'createDomainExtension',
        lb,
        port: d.port,
        domain: x.domain,
        certificate: x.certificate,
      });
  }
  out.actions.push(...starts);
  // What we created and the spec no longer names goes, last: listeners (an HTTP redirect before the
  // HTTPS listener it points at), then groups nothing uses any more. What we do not own stays.
  const ports = new Set(desired.listeners.map((l) => l.port));
  const gone = o.listeners
    .filter((l) => !ports.has(l.port))
    .sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol === 'http' ? -1 : 1));
  const deleted = new Set<number>();
  for (const l of gone) {
    if (!l.owned) {
      out.leftAlone.push({
        lb: lb.name,
        what: `${l.protocol} listener on port ${l.port}`,
        why: 'not in the spec',
      });
      continue;
    }
    const redirectedFrom = o.listeners.find(
      (x) => x.redirectPort === l.port && !(gone.includes(x) && x.owned),
    );
    if (redirectedFrom) {
      out.leftAlone.push({
        lb: lb.name,
        what: `${l.protocol} listener on port ${l.port}`,
        why: `not in the spec, but the HTTP listener on ${redirectedFrom.port} redirects to it`,
      });
      continue;
    }
    out.actions.push({ kind: 'deleteListener', lb, protocol: l.protocol, port: l.port });
    deleted.add(l.port);
  }
  repairDuplicateGroups(lb, o, deleted, out);
  const groupNames = new Set(desired.groups.map((g) => g.name));
  for (const g of o.groups) {
    if (groupNames.has(g.name) || g.duplicateOf) continue;
    const usedBy = o.listeners.filter((l) => !deleted.has(l.port) && usesGroup(l, g));
    if (!g.owned || !g.vServerGroupId || usedBy.length > 0) {
      out.leftAlone.push({
        lb: lb.name,
        what: `VServer group ${g.name}`,
        why: !g.owned
          ? 'not in the spec'
          : `not in the spec, but used by the listener on ${usedBy.map((l) => l.port).join(', ')}`,
      });
      continue;
    }
    out.actions.push({ kind: 'deleteVServerGroup', lb, group: g.name, vServerGroupId: g.vServerGroupId });
  }
  return out;
}

/** A listener uses the group: by id when observed ids are known (names may repeat), else by name. */
function usesGroup(l: ListenerModel, g: GroupModel): boolean {
  const same = (name: string | undefined, id: string | undefined) =>
    g.vServerGroupId !== undefined && id !== undefined ? id === g.vServerGroupId : name === g.name;
  return (
    same(l.vServerGroup, l.vServerGroupId) || l.rules.some((r) => same(r.vServerGroup, r.vServerGroupId))
  );
}

/**
 * Two groups with one name on a load balancer (two applies at once each created one). The one kept is
 * the one a listener forwards to by default, else one a rule uses, else ours, else the lowest id; every
 * other gets `duplicateOf` = the kept one's id. The planner, and apply's name-to-id lookup, then use the
 * kept one only, so a plan never reads one copy while apply writes the other.
 */
export function markDuplicateGroups(lb: LoadBalancerModel): LoadBalancerModel {
  const byName = new Map<string, GroupModel[]>();
  for (const g of lb.groups) byName.set(g.name, [...(byName.get(g.name) ?? []), g]);
  if ([...byName.values()].every((same) => same.length < 2)) return lb;
  const byListener = new Set(lb.listeners.map((l) => l.vServerGroupId));
  const byRule = new Set(lb.listeners.flatMap((l) => l.rules.map((r) => r.vServerGroupId)));
  const rank = (g: GroupModel) =>
    `${byListener.has(g.vServerGroupId) ? 0 : 1}${byRule.has(g.vServerGroupId) ? 0 : 1}${g.owned ? 0 : 1}${g.vServerGroupId ?? ''}`;
  const before = (a: GroupModel, b: GroupModel): number => (rank(a) < rank(b) ? -1 : 1);
  return {
    ...lb,
    groups: lb.groups.map((g) => {
      const same = byName.get(g.name) ?? [];
      const kept = [...same].sort(before)[0];
      return same.length < 2 || kept === g || !kept?.vServerGroupId
        ? g
        : { ...g, duplicateOf: kept.vServerGroupId };
    }),
  };
}

/**
 * Duplicates we own: what still points at one is pointed at the kept group (same name, so the spec's
 * meaning is unchanged), then the duplicate is deleted. Duplicates we do not own are left alone.
 */
function repairDuplicateGroups(lb: LbRef, o: LoadBalancerModel, deleted: Set<number>, out: Plan): void {
  for (const g of o.groups) {
    if (!g.duplicateOf || !g.vServerGroupId) continue;
    if (!g.owned) {
      out.leftAlone.push({
        lb: lb.name,
        what: `VServer group ${g.name} ${g.vServerGroupId}`,
        why: `another group with the name ${g.name} (${g.duplicateOf}) is the one managed; this one is not ours`,
      });
      continue;
    }
    for (const l of o.listeners) {
      if (deleted.has(l.port)) continue;
      if (l.vServerGroupId === g.vServerGroupId)
        out.actions.push({
          kind: 'setListenerAttribute',
          lb,
          protocol: l.protocol,
          port: l.port,
          changes: { vServerGroup: g.name },
        });
      for (const r of l.rules)
        if (r.vServerGroupId === g.vServerGroupId && r.ruleId)
          out.actions.push({
            kind: 'setRuleGroup',
            lb,
            port: l.port,
            rule: r.name,
            ruleId: r.ruleId,
            vServerGroup: g.name,
          });
    }
    out.actions.push({
      kind: 'deleteVServerGroup',
      lb,
      group: g.name,
      vServerGroupId: g.vServerGroupId,
      duplicateOf: g.duplicateOf,
    });
  }
}

export function planAll(desired: readonly LoadBalancerModel[], observed: readonly LoadBalancerModel[]): Plan {
  const plan: Plan = { actions: [], leftAlone: [] };
  for (const d of desired) {
    const o = observed.find((x) => x.name === d.name);
    const p = planLoadBalancer(d, o);
    plan.actions.push(...p.actions);
    plan.leftAlone.push(...p.leftAlone);
  }
  return plan;
}

/** A server certificate as far as duplicates matter. */
export interface CertificateRecord {
  serverCertificateId: string;
  /** as SLB reports it; compared without case and colons */
  fingerprint: string;
  /** carries this deployment's marker */
  owned: boolean;
}

const sameFingerprint = (f: string) => f.toLowerCase().replace(/:/g, '');

/** Our certificates that share a fingerprint (one upload each by two runs at once); others never count. */
export function duplicateCertificates(certs: readonly CertificateRecord[]): CertificateRecord[][] {
  const by = new Map<string, CertificateRecord[]>();
  for (const c of certs)
    if (c.owned && c.fingerprint)
      by.set(sameFingerprint(c.fingerprint), [...(by.get(sameFingerprint(c.fingerprint)) ?? []), c]);
  return [...by.values()].filter((same) => same.length > 1);
}

/**
 * Two of our certificates with one fingerprint: the one kept is the one a listener serves by default,
 * else one an extension domain serves, else one a load balancer outside the spec uses, else the lowest
 * id. References of the managed load balancers move to it (same certificate, so nothing served
 * changes), then the other copies are deleted, unless something outside the spec still uses them.
 * `deleted`: `<lb name>:<port>` of listeners the plan deletes (their references need no move).
 */
export function planDuplicateCertificates(
  sets: readonly CertificateRecord[][],
  observed: readonly LoadBalancerModel[],
  referencedElsewhere: ReadonlySet<string>,
  deleted: ReadonlySet<string> = new Set(),
): Plan {
  const out: Plan = { actions: [], leftAlone: [] };
  const refs = observed.flatMap((o) =>
    o.listeners
      .filter((l) => !deleted.has(`${o.name}:${l.port}`))
      .flatMap((l) => {
        const lb: LbRef = { name: o.name, ...(o.loadBalancerId ? { loadBalancerId: o.loadBalancerId } : {}) };
        return [
          ...(l.serverCertificateId
            ? [
                {
                  lb,
                  port: l.port,
                  id: l.serverCertificateId,
                  domain: undefined,
                  domainExtensionId: undefined,
                },
              ]
            : []),
          ...l.extensionDomains.flatMap((x) =>
            x.serverCertificateId && x.domainExtensionId
              ? [
                  {
                    lb,
                    port: l.port,
                    id: x.serverCertificateId,
                    domain: x.domain,
                    domainExtensionId: x.domainExtensionId,
                  },
                ]
              : [],
          ),
        ];
      }),
  );
  for (const same of sets) {
    const rank = (c: CertificateRecord) =>
      `${refs.some((r) => r.id === c.serverCertificateId && !r.domain) ? 0 : 1}${refs.some((r) => r.id === c.serverCertificateId) ? 0 : 1}${referencedElsewhere.has(c.serverCertificateId) ? 0 : 1}${c.serverCertificateId}`;
    const [kept, ...others] = [...same].sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
    if (!kept) continue;
    const home = refs.find((r) => r.id === kept.serverCertificateId)?.lb ?? refs[0]?.lb;
    for (const c of others) {
      for (const r of refs.filter((x) => x.id === c.serverCertificateId)) {
        if (r.domain && r.domainExtensionId)
          out.actions.push({
            kind: 'setDomainExtensionCertificate',
            lb: r.lb,
            port: r.port,
            domain: r.domain,
            domainExtensionId: r.domainExtensionId,
            serverCertificateId: kept.serverCertificateId,
          });
        else
          out.actions.push({
            kind: 'setListenerCertificate',
            lb: r.lb,
            port: r.port,
            serverCertificateId: kept.serverCertificateId,
          });
      }
      if (referencedElsewhere.has(c.serverCertificateId) || !home) {
        out.leftAlone.push({
          lb: home?.name ?? '',
          what: `certificate ${c.serverCertificateId}`,
          why: `ours and a duplicate of ${kept.serverCertificateId}, but a load balancer outside the spec uses it`,
        });
        continue;
      }
      out.actions.push({
        kind: 'deleteCertificate',
        lb: home,
        serverCertificateId: c.serverCertificateId,
        duplicateOf: kept.serverCertificateId,
      });
    }
  }
  return out;
}

/** One line per action, for people. */
/** Changed settings as words, not JSON: `healthCheck.interval 2, healthCheck.httpCodes http_2xx|http_3xx`. */
export function settingsText(changes: object, prefix = ''): string {
  return Object.entries(changes)
    .flatMap(([k, v]) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? [settingsText(v, `${prefix}${k}.`)]
        : [`${prefix}${k} ${Array.isArray(v) ? v.join('|') : String(v)}`],
    )
    .join(', ');
}

export function describeAction(a: Action): string {
  const where = a.lb.loadBalancerId ?? `(new ${a.lb.name})`;
  switch (a.kind) {
    case 'createLoadBalancer':
      return `create load balancer ${a.lb.name} (${a.create.addressType}, ${a.create.spec})`;
    case 'createVServerGroup':
      return `${where}: create VServer group ${a.group} with ${a.backends.map((b) => `${backendKey(b)}@${b.weight}`).join(', ') || 'no backends'}`;
    case 'addBackends':
      return `${where}: add to ${a.group}: ${a.backends.map((b) => `${backendKey(b)}@${b.weight}`).join(', ')}`;
    case 'removeBackends':
      return `${where}: remove from ${a.group}: ${a.backends.map(backendKey).join(', ')}`;
    case 'setBackendWeights':
      return `${where}: set weights in ${a.group}: ${a.backends.map((b) => `${backendKey(b)} -> ${b.weight}`).join(', ')}`;
    case 'createListener':
      return `${where}: create ${a.listener.protocol.toUpperCase()} listener ${a.listener.port}`;
    case 'setListenerAttribute':
      return `${where}: set ${a.protocol.toUpperCase()} ${a.port}: ${settingsText(a.changes)}`;
    case 'startListener':
      return `${where}: start ${a.protocol.toUpperCase()} ${a.port}`;
    case 'deleteListener':
      return a.replace
        ? `${where}: replace ${a.protocol.toUpperCase()} ${a.port}: delete it to create it again (its redirect changes)`
        : `${where}: delete ${a.protocol.toUpperCase()} ${a.port} (ours, no longer in the spec)`;
    case 'deleteVServerGroup':
      return a.duplicateOf
        ? `${where}: delete VServer group ${a.group} ${a.vServerGroupId} (ours, a duplicate of ${a.duplicateOf})`
        : `${where}: delete VServer group ${a.group} (ours, no longer in the spec)`;
    case 'createRule':
      return `${where}: create rule ${a.rule.name} on ${a.port} (${a.rule.domain ?? '*'}${a.rule.url ?? ''} -> ${a.rule.vServerGroup})`;
    case 'setRuleGroup':
      return `${where}: point rule ${a.rule} on ${a.port} at ${a.vServerGroup}`;
    case 'createDomainExtension':
      return `${where}: add extension domain ${a.domain} on ${a.port}`;
    case 'setListenerCertificate':
      return `${where}: bind ${a.serverCertificateId} to HTTPS ${a.port} (the kept copy of its certificate)`;
    case 'setDomainExtensionCertificate':
      return `${where}: bind ${a.serverCertificateId} to ${a.domain} on ${a.port} (the kept copy of its certificate)`;
    case 'deleteCertificate':
      return `delete certificate ${a.serverCertificateId} (ours, a duplicate of ${a.duplicateOf})`;
  }
}
