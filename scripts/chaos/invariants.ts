// What must hold after every chaos run, once the faults are cleared. Each check reads the local cloud's
// state (and, for the served certificate, real TLS handshakes against its front ends) and returns the
// violations it found, each naming the invariant and the resource.

import { fetchServedCertificate } from '../../shared/cloud/tls-probe';
import { normalizeFingerprint } from '../../shared/domain/keys';
import type { Spec } from '../../shared/domain/spec';
import { MALL } from '../local-cloud/scenarios/mall-fixture';
import type { LocalCloud } from '../local-cloud/server';
import type { CloudState } from '../local-cloud/state';
import type { BindEvent, VerifiedEvent } from './actors';
import { UNOWNED } from './world';

export const INVARIANTS = {
  /** no listener or extension domain bound to a missing or expired certificate */
  certificateBound: 'certificateBound',
  /** the certificate a front end serves (TLS handshake, SNI) is the one bound */
  servedIsBound: 'servedIsBound',
  /** whenever a managed group has a healthy backend, one healthy backend carries weight */
  healthyCarriesWeight: 'healthyCarriesWeight',
  /** nothing we do not own changed */
  unownedUnchanged: 'unownedUnchanged',
  /** applying the last applied spec again writes nothing */
  secondApplyWritesNothing: 'secondApplyWritesNothing',
  /** with the faults cleared, an apply of the last applied spec succeeds */
  cleanApplySucceeds: 'cleanApplySucceeds',
  /**
   * a certificate renewal bound is served and verified: after the first of the binds that put the
   * current certificate on a reference, a renewal handshake on that listener saw it (a run that died
   * between bind and verify is finished by the next one)
   */
  renewalBindsVerified: 'renewalBindsVerified',
  /** no two owned groups with one name on a load balancer, no two owned certificates with one fingerprint */
  noOwnedDuplicates: 'noOwnedDuplicates',
} as const;
export type Invariant = (typeof INVARIANTS)[keyof typeof INVARIANTS];

export interface Violation {
  invariant: Invariant;
  detail: string;
}

/**
 * Ours, as far as the invariants are concerned: the owner tag (its value names the deployment once the
 * marker carries a deployment id) or our name prefix. Hand-made resources carry neither.
 */
const OWNED_NAME_PREFIX = 'slbap-';
const ours = (r: { tags: { key: string; value: string }[] }) =>
  r.tags.some((t) => t.key === 'managed-by' && t.value.startsWith('slb-autopilot'));

/** Some name no extension domain uses: the front end answers it with the listener's default certificate. */
const DEFAULT_SNI = 'default-certificate.chaos.invalid';

export function checkCertificatesBound(state: CloudState, nowMs: number): Violation[] {
  const out: Violation[] = [];
  const check = (where: string, id: string | undefined) => {
    const c = state.serverCertificates.find((x) => x.serverCertificateId === id);
    if (!c)
      out.push({
        invariant: INVARIANTS.certificateBound,
        detail: `${where}: bound to missing certificate ${id}`,
      });
    else if (c.expireTimeStamp <= nowMs)
      out.push({
        invariant: INVARIANTS.certificateBound,
        detail: `${where}: bound to ${id} (${c.serverCertificateName}), expired ${new Date(c.expireTimeStamp).toISOString()}`,
      });
  };
  for (const l of state.listeners)
    if (l.listenerProtocol === 'https') check(`${l.loadBalancerId}:${l.listenerPort}`, l.serverCertificateId);
  for (const d of state.domainExtensions)
    check(`${d.loadBalancerId}:${d.listenerPort}/${d.domain}`, d.serverCertificateId);
  return out;
}

export async function checkServedIsBound(cloud: LocalCloud): Promise<Violation[]> {
  const state = cloud.state();
  const fingerprintOf = (id: string | undefined) =>
    normalizeFingerprint(
      state.serverCertificates.find((c) => c.serverCertificateId === id)?.fingerprint ?? '',
    );
  const out: Violation[] = [];
  for (const fe of await cloud.frontEnds()) {
    const l = state.listeners.find(
      (x) => x.loadBalancerId === fe.loadBalancerId && x.listenerPort === fe.listenerPort,
    );
    // Only HTTPS front ends serve a certificate; HTTP ones forward plain HTTP.
    if (l?.listenerProtocol !== 'https') continue;
    const expectations = [
      { sni: DEFAULT_SNI, where: `${l.loadBalancerId}:${l.listenerPort}`, id: l.serverCertificateId },
      ...state.domainExtensions
        .filter((d) => d.loadBalancerId === l.loadBalancerId && d.listenerPort === l.listenerPort)
        .map((d) => ({
          sni: d.domain,
          where: `${l.loadBalancerId}:${l.listenerPort}/${d.domain}`,
          id: d.serverCertificateId,
        })),
    ];
    for (const e of expectations) {
      try {
        const served = await fetchServedCertificate({
          host: fe.host,
          port: fe.port,
          servername: e.sni,
          timeoutMs: 5000,
        });
        if (normalizeFingerprint(served.fingerprintSha1) !== fingerprintOf(e.id))
          out.push({
            invariant: INVARIANTS.servedIsBound,
            detail: `${e.where}: serves ${served.subjectCN} (${served.fingerprintSha1}), bound ${e.id}`,
          });
      } catch (err) {
        out.push({
          invariant: INVARIANTS.servedIsBound,
          detail: `${e.where}: handshake failed: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    }
  }
  return out;
}

const healthy = (state: CloudState, key: string) => {
  const h = state.backendHealth[key];
  return h === undefined || h === 'normal';
};

/**
 * Over the groups the spec manages, every member counted (a healthy backend added by hand that carries
 * weight serves the traffic as well as ours do).
 */
export function checkHealthyCarriesWeight(state: CloudState, spec: Spec): Violation[] {
  const out: Violation[] = [];
  for (const specLb of spec.loadBalancers) {
    const lbId =
      specLb.id ??
      state.loadBalancers.find((l) => l.loadBalancerName === `${OWNED_NAME_PREFIX}${specLb.name}`)
        ?.loadBalancerId;
    if (!lbId) continue;
    for (const sg of specLb.vServerGroups) {
      for (const g of state.vServerGroups.filter(
        (x) => x.loadBalancerId === lbId && x.vServerGroupName === sg.name,
      )) {
        const members = g.backendServers;
        const up = members.filter((b) => healthy(state, `${b.serverId}:${b.port}`));
        if (up.length > 0 && !up.some((b) => b.weight > 0))
          out.push({
            invariant: INVARIANTS.healthyCarriesWeight,
            detail: `${g.vServerGroupId} (${g.vServerGroupName}): healthy ${up.map((b) => `${b.serverId}:${b.port}`).join(', ')} but weights ${members.map((b) => `${b.serverId}:${b.port}=${b.weight}${healthy(state, `${b.serverId}:${b.port}`) ? '' : '(down)'}`).join(', ')}`,
          });
      }
    }
  }
  return out;
}

const sortTags = (tags: { key: string; value: string }[]) =>
  [...tags].sort((a, b) => a.key.localeCompare(b.key)).map((t) => `${t.key}=${t.value}`);

/** The resources made by hand beside the mall, as far as "changed" is concerned. */
export function unownedView(state: CloudState, baseline: CloudState): Record<string, unknown> {
  const baselineLb = baseline.loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId);
  const lb = state.loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId);
  const handKey = UNOWNED.handBackend;
  return {
    certificates: state.serverCertificates
      .filter((c) => c.serverCertificateName === UNOWNED.certificateName)
      .map((c) => ({ id: c.serverCertificateId, fingerprint: c.fingerprint, tags: sortTags(c.tags) })),
    groups: state.vServerGroups
      .filter((g) => g.vServerGroupName === UNOWNED.groupName)
      .map((g) => ({
        id: g.vServerGroupId,
        lb: g.loadBalancerId,
        tags: sortTags(g.tags),
        backends: g.backendServers.map((b) => `${b.serverId}:${b.port}=${b.weight}`).sort(),
      })),
    listeners: state.listeners
      .filter(
        (l) =>
          l.loadBalancerId === MALL.loadBalancerId &&
          [UNOWNED.httpListenerPort, UNOWNED.httpsListenerPort].includes(l.listenerPort as never),
      )
      .map(({ busyUntil: _b, ...l }) => ({ ...l, tags: sortTags(l.tags) })),
    handBackendInAdoptedGroup: state.vServerGroups
      .filter((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId)
      .flatMap((g) => g.backendServers.filter((b) => `${b.serverId}:${b.port}` === handKey)),
    // the adopted load balancer's own tags (tags we add, e.g. a lease, may come and go)
    loadBalancerTags: (baselineLb?.tags ?? []).map(
      (t) => `${t.key}=${lb?.tags.find((x) => x.key === t.key)?.value ?? '(removed)'}`,
    ),
    casCertificates: state.casCertificates.map((c) => `${c.certId}:${c.fingerprint}`).sort(),
    instances: state.instances,
  };
}

export function checkUnownedUnchanged(state: CloudState, baseline: CloudState): Violation[] {
  const before = unownedView(baseline, baseline);
  const after = unownedView(state, baseline);
  const out: Violation[] = [];
  const items = (v: unknown) => (Array.isArray(v) ? v : [v]).map((x) => JSON.stringify(x));
  for (const k of Object.keys(before)) {
    const was = items(before[k]);
    const now = items(after[k]);
    const gone = was.filter((x) => !now.includes(x));
    const added = now.filter((x) => !was.includes(x));
    if (gone.length > 0 || added.length > 0)
      out.push({
        invariant: INVARIANTS.unownedUnchanged,
        detail: `${k}: ${gone.length ? `was ${gone.join(', ')}` : ''}${gone.length && added.length ? '; ' : ''}${added.length ? `now ${added.join(', ')}` : ''}`,
      });
  }
  return out;
}

export function checkNoOwnedDuplicates(state: CloudState): Violation[] {
  const out: Violation[] = [];
  const groups = new Map<string, string[]>();
  for (const g of state.vServerGroups) {
    const k = `${g.loadBalancerId}/${g.vServerGroupName}`;
    groups.set(k, [...(groups.get(k) ?? []), g.vServerGroupId]);
  }
  for (const [k, ids] of groups)
    if (ids.length > 1 && state.vServerGroups.some((g) => ids.includes(g.vServerGroupId) && ours(g)))
      out.push({ invariant: INVARIANTS.noOwnedDuplicates, detail: `groups named ${k}: ${ids.join(', ')}` });
  const certs = new Map<string, string[]>();
  for (const c of state.serverCertificates) {
    if (!ours(c) && !c.serverCertificateName.startsWith(OWNED_NAME_PREFIX)) continue;
    certs.set(c.fingerprint, [...(certs.get(c.fingerprint) ?? []), c.serverCertificateId]);
  }
  for (const [fp, ids] of certs)
    if (ids.length > 1)
      out.push({
        invariant: INVARIANTS.noOwnedDuplicates,
        detail: `certificates with fingerprint ${fp}: ${ids.join(', ')}`,
      });
  return out;
}

export function checkRenewalBindsVerified(
  state: CloudState,
  frontEnds: readonly { loadBalancerId: string; listenerPort: number; host: string; port: number }[],
  events: { binds: readonly BindEvent[]; verified: readonly VerifiedEvent[] },
): Violation[] {
  const out: Violation[] = [];
  const references = [
    ...state.listeners
      .filter((l) => l.listenerProtocol === 'https')
      .map((l) => ({
        lb: l.loadBalancerId,
        port: l.listenerPort,
        reference: `${l.loadBalancerId}:${l.listenerPort}`,
        id: l.serverCertificateId,
      })),
    ...state.domainExtensions.map((d) => ({
      lb: d.loadBalancerId,
      port: d.listenerPort,
      reference: `${d.loadBalancerId}:${d.listenerPort}/${d.domain}`,
      id: d.serverCertificateId,
    })),
  ];
  for (const r of references) {
    const binds = events.binds.filter((b) => b.reference === r.reference);
    // the binds since the reference last held another certificate
    let i = binds.length;
    while (i > 0 && binds[i - 1]?.serverCertificateId === r.id) i--;
    const first = binds[i];
    if (!first || first.serverCertificateId !== r.id) continue;
    if (!binds.slice(i).some((b) => b.actor === 'renewal')) continue;
    const fe = frontEnds.find((f) => f.loadBalancerId === r.lb && f.listenerPort === r.port);
    const fingerprint = normalizeFingerprint(
      state.serverCertificates.find((c) => c.serverCertificateId === r.id)?.fingerprint ?? '',
    );
    const verified = events.verified.some(
      (v) =>
        v.seq > first.seq &&
        v.fingerprint === fingerprint &&
        fe !== undefined &&
        v.frontEnd === `${fe.host}:${fe.port}`,
    );
    if (!verified)
      out.push({
        invariant: INVARIANTS.renewalBindsVerified,
        detail: `${r.reference}: ${r.id} bound by renewal (event ${first.seq}) and never verified as served`,
      });
  }
  return out;
}
