// The planner: desired (from the spec) vs observed (from the cloud) -> an ordered list of absolute,
// idempotent actions, plus what it left alone and why. Pure: no I/O, no clock.
// Order: load balancers, then groups (created; backends added, weighted, then unlisted ones removed), then
// listeners (created, reconfigured, then started), then rules and extension domains.
// Anything in the cloud that the spec does not name is never changed: it is listed in `leftAlone`,
// except what carries our ownership tag (we created it), which is deleted once nothing needs it.
// Rules and extension domains cannot carry tags: they are ours when the listener they sit on is ours
// (it carries this deployment's marker). On a listener we do not own they are created when the spec
// names them and never deleted, renamed or replaced; their `leftAlone` reason names the listener's owner.
// A rule's domain and url cannot change in place (SetRule has neither; Terraform marks both ForceNew),
// and both a rule's name and its domain+url are unique on a listener, so a changed rule is replaced
// without a moment where no rule matches: the old rule is renamed aside (to its own id: SetRule can
// rename), the new one created under the spec's name, then the old one deleted. A run cut short between
// those leaves a rule not in the spec, which the next plan deletes like any other.
// An extension domain's certificate is not switched here, like a listener's: renewal binds the spec's
// source when the served certificate is due, verifying the handshake, so apply never undoes a rotation.

import { FAILOVER_TAGS } from './failover';
import { backendKey, normalizeFingerprint } from './keys';
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
      kind: 'renameRule';
      lb: LbRef;
      port: number;
      rule: string;
      ruleId: string;
      name: string;
      /** the group it forwards to from now on, when that changes too */
      vServerGroup?: string;
      /** renamed out of the way of its replacement (its domain or url changes) */
      aside?: true;
    }
  | {
      kind: 'deleteRule';
      lb: LbRef;
      port: number;
      rule: string;
      ruleId: string;
      /** the rule's replacement (new domain or url) was created just before */
      replaced?: true;
    }
  | {
      kind: 'createDomainExtension';
      lb: LbRef;
      port: number;
      domain: string;
      certificate: CertificateSource | undefined;
    }
  | { kind: 'deleteDomainExtension'; lb: LbRef; port: number; domain: string; domainExtensionId: string }
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
  removeUnlisted(lb, desired, observed, out);
}

/** Removed last, after the new members are in and weighted: the group never runs short. */
function removeUnlisted(lb: LbRef, desired: GroupModel, observed: GroupModel, out: Plan): void {
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

/** `the HTTPS listener on 443` */
const listenerText = (l: Pick<ListenerModel, 'protocol' | 'port'>) =>
  `the ${l.protocol.toUpperCase()} listener on ${l.port}`;

/** Why what sits on a listener we do not own stays: names who the listener belongs to. */
function notOurs(l: ListenerModel): string {
  return `${listenerText(l)} is not ours (${l.owner ? `it carries ${l.owner}` : 'it carries no marker of this deployment'})`;
}

/** Domain and url: what a rule matches, unique on a listener. */
const sameMatch = (a: RuleModel, b: RuleModel) =>
  (a.domain ?? '') === (b.domain ?? '') && (a.url ?? '') === (b.url ?? '');

function diffRules(lb: LbRef, d: ListenerModel, o: ListenerModel, out: Plan): void {
  const wanted = new Set(d.rules.map((r) => r.name));
  const unlisted = o.rules.filter((r) => !wanted.has(r.name));
  const taken = new Set<RuleModel>();
  for (const r of d.rules) {
    const holder = unlisted.find((x) => !taken.has(x) && sameMatch(x, r));
    if (holder) taken.add(holder);
    const current = o.rules.find((x) => x.name === r.name);
    diffRule(lb, o, r, current, holder, out);
  }
  for (const x of unlisted) {
    if (taken.has(x)) continue;
    if (o.owned && x.ruleId)
      out.actions.push({ kind: 'deleteRule', lb, port: o.port, rule: x.name, ruleId: x.ruleId });
    else
      out.leftAlone.push({
        lb: lb.name,
        what: `rule ${x.name} on port ${o.port}`,
        why: o.owned ? 'not in the spec' : `not in the spec, and ${notOurs(o)}`,
      });
  }
}

/**
 * One rule of the spec against the rule of that name (`existing`) and a rule not in the spec that
 * already matches its domain and url (`holder`: the spec renamed it, or it is in the way).
 */
function diffRule(
  lb: LbRef,
  o: ListenerModel,
  r: RuleModel,
  existing: RuleModel | undefined,
  holder: RuleModel | undefined,
  out: Plan,
): void {
  const port = o.port;
  if (existing && sameMatch(existing, r)) {
    if (existing.vServerGroup !== r.vServerGroup && existing.ruleId)
      out.actions.push({
        kind: 'setRuleGroup',
        lb,
        port,
        rule: r.name,
        ruleId: existing.ruleId,
        vServerGroup: r.vServerGroup,
      });
    return;
  }
  if ((existing || holder) && !(o.owned && (existing ?? holder)?.ruleId)) {
    out.leftAlone.push({
      lb: lb.name,
      what: `rule ${r.name} on port ${port}`,
      why: existing
        ? `its domain or url differs from the spec; that takes a new rule in its place, and ${notOurs(o)}`
        : `rule ${holder?.name} (not in the spec) matches its domain and url, and ${notOurs(o)}`,
    });
    return;
  }
  if (holder?.ruleId) {
    // A rule outside the spec already matches what the spec wants (the spec renamed it): SetRule
    // renames it in place, so its traffic never moves; the rule holding the name (its match is no
    // longer wanted) goes first.
    if (existing?.ruleId)
      out.actions.push({ kind: 'deleteRule', lb, port, rule: existing.name, ruleId: existing.ruleId });
    const group = holder.vServerGroup !== r.vServerGroup ? { vServerGroup: r.vServerGroup } : {};
    out.actions.push({
      kind: 'renameRule',
      lb,
      port,
      rule: holder.name,
      ruleId: holder.ruleId,
      name: r.name,
      ...group,
    });
    return;
  }
  if (!existing?.ruleId) {
    out.actions.push({ kind: 'createRule', lb, port, rule: r });
    return;
  }
  const { name, ruleId } = existing;
  out.actions.push(
    { kind: 'renameRule', lb, port, rule: name, ruleId, name: ruleId, aside: true },
    { kind: 'createRule', lb, port, rule: r },
    { kind: 'deleteRule', lb, port, rule: name, ruleId, replaced: true },
  );
}

const createExtension = (lb: LbRef, port: number, x: ExtensionDomainModel): Action => ({
  kind: 'createDomainExtension',
  lb,
  port,
  domain: x.domain,
  certificate: x.certificate,
});

/** Created before any is deleted, so a domain that moves is never without its certificate. */
function diffExtensionDomains(lb: LbRef, d: ListenerModel, o: ListenerModel, out: Plan): void {
  const have = new Set(o.extensionDomains.map((x) => x.domain.toLowerCase()));
  for (const x of d.extensionDomains)
    if (!have.has(x.domain.toLowerCase())) out.actions.push(createExtension(lb, d.port, x));
  const wanted = new Set(d.extensionDomains.map((x) => x.domain.toLowerCase()));
  for (const x of o.extensionDomains) {
    if (wanted.has(x.domain.toLowerCase())) continue;
    if (o.owned && x.domainExtensionId)
      out.actions.push({
        kind: 'deleteDomainExtension',
        lb,
        port: o.port,
        domain: x.domain,
        domainExtensionId: x.domainExtensionId,
      });
    else
      out.leftAlone.push({
        lb: lb.name,
        what: `extension domain ${x.domain} on port ${d.port}`,
        why: o.owned ? 'not in the spec' : `not in the spec, and ${notOurs(o)}`,
      });
  }
}

function lbRefOf(desired: LoadBalancerModel, observed: LoadBalancerModel | undefined): LbRef {
  const id = observed?.loadBalancerId ?? desired.loadBalancerId;
  return { name: desired.name, ...(id ? { loadBalancerId: id } : {}) };
}

export function planLoadBalancer(desired: LoadBalancerModel, observed: LoadBalancerModel | undefined): Plan {
  const out: Plan = { actions: [], leftAlone: [] };
  const lb = lbRefOf(desired, observed);
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
  const o = observed ?? { name: desired.name, listeners: [], groups: [] };
  for (const g of desired.groups)
    diffGroup(
      lb,
      g,
      o.groups.find((x) => x.name === g.name && !x.duplicateOf),
      out,
    );
  diffListeners(lb, desired, o, out);
  // What we created and the spec no longer names goes, last: listeners, then groups nothing uses any
  // more once the plan has run. What we do not own stays.
  const deleted = deleteDroppedListeners(lb, desired, o, out);
  repairDuplicateGroups(lb, o, deleted, out);
  deleteDroppedGroups(lb, desired, o, out);
  return out;
}

/** Listeners the spec names: created, replaced or reconfigured, with their rules and extension domains, then started. */
function diffListeners(lb: LbRef, desired: LoadBalancerModel, o: LoadBalancerModel, out: Plan): void {
  // HTTPS before HTTP: an HTTP listener may redirect to an HTTPS one created in the same plan.
  const ordered = [...desired.listeners].sort((a, b) =>
    a.protocol === b.protocol ? a.port - b.port : a.protocol === 'https' ? -1 : 1,
  );
  const starts: Action[] = [];
  for (const d of ordered) {
    const observed = o.listeners.find((x) => x.port === d.port);
    diffListener(lb, d, observed, out, starts);
  }
  // New listeners get their rules and extension domains after they exist.
  for (const d of ordered) {
    if (o.listeners.some((x) => x.port === d.port)) continue;
    for (const r of d.rules) out.actions.push({ kind: 'createRule', lb, port: d.port, rule: r });
    for (const x of d.extensionDomains) out.actions.push(createExtension(lb, d.port, x));
  }
  out.actions.push(...starts);
}

function diffListener(
  lb: LbRef,
  d: ListenerModel,
  ol: ListenerModel | undefined,
  out: Plan,
  starts: Action[],
): void {
  const start: Action = { kind: 'startListener', lb, protocol: d.protocol, port: d.port };
  if (!ol) {
    out.actions.push({ kind: 'createListener', lb, listener: d });
    starts.push(start);
    return;
  }
  if (ol.protocol !== d.protocol) {
    out.leftAlone.push({
      lb: lb.name,
      what: `${ol.protocol} listener on port ${d.port}`,
      why: `the spec wants ${d.protocol} there; replacing a listener is not done automatically`,
    });
    return;
  }
  // No Set action changes a redirect (SetLoadBalancerHTTPListenerAttribute has no ListenerForward or
  // ForwardPort in the official model; Terraform marks both ForceNew): the listener is replaced.
  if (d.redirectPort !== ol.redirectPort) {
    out.actions.push(
      { kind: 'deleteListener', lb, protocol: d.protocol, port: d.port, replace: true },
      { kind: 'createListener', lb, listener: d },
      ...d.rules.map((r): Action => ({ kind: 'createRule', lb, port: d.port, rule: r })),
    );
    starts.push(start);
    return;
  }
  const changes = listenerChanges(d, ol);
  if (Object.keys(changes).length > 0)
    out.actions.push({ kind: 'setListenerAttribute', lb, protocol: d.protocol, port: d.port, changes });
  if (!ol.running) starts.push(start);
  diffRules(lb, d, ol, out);
  if (d.protocol === 'https') diffExtensionDomains(lb, d, ol, out);
}

/** Our listeners the spec dropped (an HTTP redirect before the HTTPS listener it points at); returns their ports. */
function deleteDroppedListeners(
  lb: LbRef,
  desired: LoadBalancerModel,
  o: LoadBalancerModel,
  out: Plan,
): Set<number> {
  const ports = new Set(desired.listeners.map((l) => l.port));
  const gone = o.listeners
    .filter((l) => !ports.has(l.port))
    .sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol === 'http' ? -1 : 1));
  const deleted = new Set<number>();
  for (const l of gone) {
    const redirectedFrom = o.listeners.find(
      (x) => x.redirectPort === l.port && !(gone.includes(x) && x.owned),
    );
    if (!l.owned || redirectedFrom) {
      out.leftAlone.push({
        lb: lb.name,
        what: `${l.protocol} listener on port ${l.port}`,
        why: redirectedFrom
          ? `not in the spec, but the HTTP listener on ${redirectedFrom.port} redirects to it`
          : 'not in the spec',
      });
      continue;
    }
    out.actions.push({ kind: 'deleteListener', lb, protocol: l.protocol, port: l.port });
    deleted.add(l.port);
  }
  return deleted;
}

/** Our groups the spec dropped, once nothing forwards to them after the plan has run. */
function deleteDroppedGroups(lb: LbRef, desired: LoadBalancerModel, o: LoadBalancerModel, out: Plan): void {
  const groupNames = new Set(desired.groups.map((g) => g.name));
  const usage = usageAfter(o, out.actions);
  for (const g of o.groups) {
    if (groupNames.has(g.name) || g.duplicateOf) continue;
    const users = usage.filter((u) => forwardsTo(u.ref, g)).map((u) => u.by);
    if (!g.owned || !g.vServerGroupId || users.length > 0) {
      out.leftAlone.push({
        lb: lb.name,
        what: `VServer group ${g.name}`,
        why: !g.owned
          ? 'not in the spec'
          : `not in the spec, but ${users.join(' and ')} forward${users.length > 1 ? '' : 's'} to it`,
      });
      continue;
    }
    out.actions.push({ kind: 'deleteVServerGroup', lb, group: g.name, vServerGroupId: g.vServerGroupId });
  }
}

/** A reference to a group: by id when the cloud reported one (names may repeat), else by name. */
interface GroupRef {
  name?: string | undefined;
  id?: string | undefined;
}

const forwardsTo = (ref: GroupRef, g: GroupModel): boolean =>
  ref.id !== undefined && g.vServerGroupId !== undefined ? ref.id === g.vServerGroupId : ref.name === g.name;

interface ListenerUse {
  protocol: ListenerModel['protocol'];
  default?: GroupRef;
  /** by rule id (observed) or `+name` (created by the plan) */
  rules: Map<string, { name: string; ref: GroupRef }>;
}

/** Which groups the load balancer's listeners and rules forward to once `actions` have run, and who does. */
function usageAfter(o: LoadBalancerModel, actions: readonly Action[]): { ref: GroupRef; by: string }[] {
  const listeners = new Map<number, ListenerUse>();
  for (const l of o.listeners)
    listeners.set(l.port, {
      protocol: l.protocol,
      ...(l.vServerGroup || l.vServerGroupId
        ? { default: { name: l.vServerGroup, id: l.vServerGroupId } }
        : {}),
      rules: new Map(
        l.rules.map((r) => [
          r.ruleId ?? `+${r.name}`,
          { name: r.name, ref: { name: r.vServerGroup, id: r.vServerGroupId } },
        ]),
      ),
    });
  for (const a of actions) applyUse(listeners, a);
  return [...listeners].flatMap(([port, l]) => [
    ...(l.default ? [{ ref: l.default, by: listenerText({ protocol: l.protocol, port }) }] : []),
    ...[...l.rules.values()].map((r) => ({ ref: r.ref, by: `rule ${r.name} on port ${port}` })),
  ]);
}

function applyUse(listeners: Map<number, ListenerUse>, a: Action): void {
  const rules = 'port' in a ? listeners.get(a.port)?.rules : undefined;
  switch (a.kind) {
    case 'deleteListener':
      listeners.delete(a.port);
      return;
    case 'createListener': {
      const group = a.listener.vServerGroup;
      listeners.set(a.listener.port, {
        protocol: a.listener.protocol,
        ...(group ? { default: { name: group } } : {}),
        rules: new Map(),
      });
      return;
    }
    case 'setListenerAttribute': {
      const l = listeners.get(a.port);
      if (l && a.changes.vServerGroup !== undefined) l.default = { name: a.changes.vServerGroup };
      return;
    }
    case 'createRule':
      rules?.set(`+${a.rule.name}`, { name: a.rule.name, ref: { name: a.rule.vServerGroup } });
      return;
    case 'setRuleGroup':
    case 'renameRule': {
      const r = rules?.get(a.ruleId);
      if (r && a.kind === 'renameRule') r.name = a.name;
      if (r && a.vServerGroup !== undefined) r.ref = { name: a.vServerGroup };
      return;
    }
    case 'deleteRule':
      rules?.delete(a.ruleId);
      return;
  }
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

/** Our certificates that share a fingerprint (one upload each by two runs at once); others never count. */
export function duplicateCertificates(certs: readonly CertificateRecord[]): CertificateRecord[][] {
  const by = new Map<string, CertificateRecord[]>();
  for (const c of certs) {
    const key = normalizeFingerprint(c.fingerprint);
    if (c.owned && key) by.set(key, [...(by.get(key) ?? []), c]);
  }
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
  const refs = certificateRefs(observed, deleted);
  const uses = (c: CertificateRecord, byDefault: boolean) =>
    refs.some((r) => r.id === c.serverCertificateId && (!byDefault || !r.domain));
  for (const same of sets) {
    const rank = (c: CertificateRecord) =>
      `${uses(c, true) ? 0 : 1}${uses(c, false) ? 0 : 1}${referencedElsewhere.has(c.serverCertificateId) ? 0 : 1}${c.serverCertificateId}`;
    const [kept, ...others] = [...same].sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
    if (!kept) continue;
    const home = refs.find((r) => r.id === kept.serverCertificateId)?.lb ?? refs[0]?.lb;
    for (const c of others) {
      for (const r of refs.filter((x) => x.id === c.serverCertificateId))
        out.actions.push(moveReference(r, kept.serverCertificateId));
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

/** Where a managed load balancer serves a certificate: a listener's default, or an extension domain. */
interface CertificateRef {
  lb: LbRef;
  port: number;
  id: string;
  domain?: string;
  domainExtensionId?: string;
}

function certificateRefs(
  observed: readonly LoadBalancerModel[],
  deleted: ReadonlySet<string>,
): CertificateRef[] {
  return observed.flatMap((o) => {
    const lb: LbRef = { name: o.name, ...(o.loadBalancerId ? { loadBalancerId: o.loadBalancerId } : {}) };
    return o.listeners
      .filter((l) => !deleted.has(`${o.name}:${l.port}`))
      .flatMap((l): CertificateRef[] => [
        ...(l.serverCertificateId ? [{ lb, port: l.port, id: l.serverCertificateId }] : []),
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
      ]);
  });
}

function moveReference(r: CertificateRef, serverCertificateId: string): Action {
  return r.domain && r.domainExtensionId
    ? {
        kind: 'setDomainExtensionCertificate',
        lb: r.lb,
        port: r.port,
        domain: r.domain,
        domainExtensionId: r.domainExtensionId,
        serverCertificateId,
      }
    : { kind: 'setListenerCertificate', lb: r.lb, port: r.port, serverCertificateId };
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
    case 'renameRule':
      return a.aside
        ? `${where}: rename rule ${a.rule} on ${a.port} to ${a.name}, out of the way of its replacement (its domain or url changes)`
        : `${where}: rename rule ${a.rule} on ${a.port} to ${a.name}${a.vServerGroup ? ` and point it at ${a.vServerGroup}` : ''}`;
    case 'deleteRule':
      return a.replaced
        ? `${where}: delete the old rule ${a.rule} (${a.ruleId}) on ${a.port}, now replaced`
        : `${where}: delete rule ${a.rule} on ${a.port} (ours, no longer in the spec)`;
    case 'createDomainExtension':
      return `${where}: add extension domain ${a.domain} on ${a.port}`;
    case 'deleteDomainExtension':
      return `${where}: delete extension domain ${a.domain} on ${a.port} (ours, no longer in the spec)`;
    case 'setListenerCertificate':
      return `${where}: bind ${a.serverCertificateId} to HTTPS ${a.port} (the kept copy of its certificate)`;
    case 'setDomainExtensionCertificate':
      return `${where}: bind ${a.serverCertificateId} to ${a.domain} on ${a.port} (the kept copy of its certificate)`;
    case 'deleteCertificate':
      return `delete certificate ${a.serverCertificateId} (ours, a duplicate of ${a.duplicateOf})`;
  }
}
