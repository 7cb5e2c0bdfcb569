// The observed state of the load balancers a spec manages, for people and tooling: listeners with their
// certificates (CN, expiry, days left, read from SLB's certificate records, never from names), groups
// with backend weights and health (one DescribeHealthStatus per load balancer), and the plan's drift.
// Calls: the plan's reads, plus one DescribeServerCertificates and one DescribeHealthStatus per LB.

import type { SlbClient } from '../cloud/slb';
import { type HealthState, worstHealthByBackend } from '../cloud/slb/health';
import { daysLeft } from '../domain/certificate';
import { decodeFailoverState, type Pool } from '../domain/failover';
import { backendKey } from '../domain/keys';
import type { OwnershipMarker } from '../domain/ownership';
import { describeAction } from '../domain/plan';
import type { Spec } from '../domain/spec';
import { observeAndPlan } from './apply';

export interface CertificateStatus {
  serverCertificateId: string;
  commonName?: string;
  expiresAt?: string;
  daysLeft?: number;
  /** SHA-1 of the certificate SLB holds (what a handshake should see) */
  fingerprint?: string;
}

export interface LoadBalancerStatus {
  name: string;
  loadBalancerId?: string;
  exists: boolean;
  listeners: {
    protocol: string;
    port: number;
    running: boolean;
    vServerGroup?: string;
    certificate?: CertificateStatus;
    extensionDomains: { domain: string; certificate?: CertificateStatus }[];
  }[];
  groups: {
    name: string;
    vServerGroupId?: string;
    backends: { serverId: string; port: number; weight: number; description?: string; health: HealthState }[];
    /** what failover recorded in the group's tags */
    failover: {
      active: Pool | 'unknown';
      /** a manual toStandby holds the standby until a manual toPrimary */
      pinned?: boolean;
      primaryHealthySince?: string;
      /** when the automatic failback is due (the standby active, the primary healthy, not pinned) */
      failbackDueAt?: string;
    };
  }[];
}

export interface StatusReport {
  region: string;
  at: string;
  loadBalancers: LoadBalancerStatus[];
  /** what `apply` would change now */
  drift: string[];
}

function failoverOf(
  tags: readonly { key: string; value: string }[] | undefined,
  failbackAfterSeconds: number,
): LoadBalancerStatus['groups'][number]['failover'] {
  const { state } = decodeFailoverState(Object.fromEntries((tags ?? []).map((t) => [t.key, t.value])));
  const since = state.primaryHealthySince;
  return {
    active: state.active,
    ...(state.pinned ? { pinned: true } : {}),
    ...(since ? { primaryHealthySince: since.toISOString() } : {}),
    ...(since && state.active === 'standby' && !state.pinned
      ? { failbackDueAt: new Date(since.getTime() + failbackAfterSeconds * 1000).toISOString() }
      : {}),
  };
}

export async function collectStatus(
  slb: SlbClient,
  spec: Spec,
  now: Date,
  ownership: OwnershipMarker,
): Promise<StatusReport> {
  const { plan, desired, observed } = await observeAndPlan(slb, spec, ownership);
  const regionId = spec.region;
  const certificates = observed.length > 0 ? await slb.describeServerCertificates({ regionId }) : [];
  const certificate = (id: string | undefined): CertificateStatus | undefined => {
    if (!id) return undefined;
    const c = certificates.find((x) => x.serverCertificateId === id);
    if (!c) return { serverCertificateId: id };
    return {
      serverCertificateId: id,
      commonName: c.commonName,
      expiresAt: new Date(c.expireTimeStamp).toISOString(),
      daysLeft: daysLeft(c.expireTimeStamp, now),
      ...(c.fingerprint ? { fingerprint: c.fingerprint } : {}),
    };
  };

  const loadBalancers: LoadBalancerStatus[] = [];
  for (const d of desired) {
    const o = observed.find((x) => x.name === d.name);
    if (!o?.loadBalancerId) {
      loadBalancers.push({
        name: d.name,
        exists: false,
        listeners: [],
        groups: [],
        ...(d.loadBalancerId ? { loadBalancerId: d.loadBalancerId } : {}),
      });
      continue;
    }
    const worst = worstHealthByBackend(
      await slb.describeHealthStatus({ regionId, loadBalancerId: o.loadBalancerId }),
    );
    const healthOf = (serverId: string, port: number): HealthState =>
      worst.get(backendKey({ serverId, port }))?.state ?? 'unavailable';
    loadBalancers.push({
      name: o.name,
      loadBalancerId: o.loadBalancerId,
      exists: true,
      listeners: o.listeners.map((l) => ({
        protocol: l.protocol,
        port: l.port,
        running: l.running,
        ...(l.vServerGroup ? { vServerGroup: l.vServerGroup } : {}),
        ...(l.serverCertificateId ? { certificate: certificate(l.serverCertificateId) } : {}),
        extensionDomains: l.extensionDomains.map((x) => ({
          domain: x.domain,
          ...(x.serverCertificateId ? { certificate: certificate(x.serverCertificateId) } : {}),
        })),
      })),
      groups: o.groups.map((g) => ({
        name: g.name,
        ...(g.vServerGroupId ? { vServerGroupId: g.vServerGroupId } : {}),
        backends: g.backends.map((b) => ({
          serverId: b.serverId,
          port: b.port,
          weight: b.weight,
          ...(b.description ? { description: b.description } : {}),
          health: healthOf(b.serverId, b.port),
        })),
        failover: failoverOf(g.tags, spec.failover.failbackAfter),
      })),
    });
  }
  return { region: regionId, at: now.toISOString(), loadBalancers, drift: plan.actions.map(describeAction) };
}
