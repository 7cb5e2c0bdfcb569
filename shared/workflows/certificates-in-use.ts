// Discovery for certificate renewal: every place a managed load balancer serves a certificate (the
// default certificate of each running HTTPS listener, and each of its extension domains), with the
// facts of the certificate read from SLB's certificate record (expiry, SANs, fingerprint), never from
// its name. Calls: one DescribeLoadBalancers, one DescribeLoadBalancerListeners per 10 load balancers,
// one DescribeLoadBalancerHTTPSListenerAttribute per HTTPS listener, one DescribeServerCertificates.

import type { SlbClient } from '../cloud/slb';
import type { ServerCertificate } from '../cloud/slb/certificates';
import type { LoadBalancer } from '../cloud/slb/load-balancers';
import { findManagedLoadBalancer, type OwnershipMarker } from '../domain/ownership';
import type { CertificateSource, Spec } from '../domain/spec';

export interface CertificateReference {
  /** `lb-…:443` or `lb-…:443/m.example.com` */
  id: string;
  kind: 'listener' | 'extensionDomain';
  loadBalancerId: string;
  /** the spec's name for the load balancer */
  loadBalancerName: string;
  address: string;
  regionId: string;
  listenerPort: number;
  domainExtensionId?: string;
  /** what the certificate must cover: the listener's `domains` from the spec (else the current SANs), or the extension domain */
  domains: string[];
  /**
   * listener references: the listener's extension domains. SNI sends those names to their own
   * certificates, so a handshake for one of them never shows the default certificate.
   */
  extensionDomains?: string[];
  /** where the spec says its certificate comes from, when the spec names it */
  source?: CertificateSource;
  serverCertificateId: string;
  /** undefined when the certificate id is not in the region's list (a dangling reference) */
  current?: ServerCertificate;
}

export interface CertificatesInUse {
  regionId: string;
  references: CertificateReference[];
  /** every SLB certificate in the region */
  certificates: ServerCertificate[];
  /** every load balancer in the region, managed or not */
  loadBalancers: LoadBalancer[];
}

export async function findCertificatesInUse(
  slb: SlbClient,
  spec: Spec,
  ownership: OwnershipMarker,
): Promise<CertificatesInUse> {
  const regionId = spec.region;
  const all = await slb.describeLoadBalancers({ regionId });
  const managed = managedLoadBalancers(spec, all, ownership);
  if (managed.length === 0) return { regionId, references: [], certificates: [], loadBalancers: all };
  const listeners = await slb.describeListeners({
    regionId,
    loadBalancerIds: managed.map((m) => m.lb.loadBalancerId),
    protocol: 'https',
  });
  const certificates = await slb.describeServerCertificates({ regionId });
  const byId = new Map(certificates.map((c) => [c.serverCertificateId, c]));
  const references: CertificateReference[] = [];
  for (const { spec: s, lb } of managed) {
    for (const l of listeners.filter(
      (x) => x.loadBalancerId === lb.loadBalancerId && x.listenerProtocol === 'https',
    )) {
      if (l.status !== 'running') continue;
      const detail = await slb.describeHttpsListener({
        regionId,
        loadBalancerId: lb.loadBalancerId,
        listenerPort: l.listenerPort,
      });
      references.push(
        ...listenerReferences({ regionId, spec: s, lb, listenerPort: l.listenerPort }, detail, byId),
      );
    }
  }
  return { regionId, references, certificates, loadBalancers: all };
}

type SpecLoadBalancer = Spec['loadBalancers'][number];

/** The spec's load balancers found in the region: by id, or by our name and ownership tag. */
function managedLoadBalancers(
  spec: Spec,
  all: LoadBalancer[],
  ownership: OwnershipMarker,
): { spec: SpecLoadBalancer; lb: LoadBalancer }[] {
  return spec.loadBalancers.flatMap((s) => {
    const lb = findManagedLoadBalancer(ownership, all, s);
    return lb ? [{ spec: s, lb }] : [];
  });
}

interface ListenerAt {
  regionId: string;
  spec: SpecLoadBalancer;
  lb: LoadBalancer;
  listenerPort: number;
}

/** One HTTPS listener's references: its default certificate, and each extension domain's. */
function listenerReferences(
  at: ListenerAt,
  detail: Awaited<ReturnType<SlbClient['describeHttpsListener']>>,
  byId: ReadonlyMap<string, ServerCertificate>,
): CertificateReference[] {
  const { lb, listenerPort } = at;
  const specListener = at.spec.listeners.find((x) => x.port === listenerPort && x.protocol === 'https');
  const https = specListener?.protocol === 'https' ? specListener : undefined;
  const base = {
    loadBalancerId: lb.loadBalancerId,
    loadBalancerName: at.spec.name,
    address: lb.address,
    regionId: at.regionId,
    listenerPort,
  };
  const out: CertificateReference[] = [];
  if (detail.serverCertificateId) {
    const current = byId.get(detail.serverCertificateId);
    out.push({
      ...base,
      id: `${lb.loadBalancerId}:${listenerPort}`,
      kind: 'listener',
      domains: https
        ? https.domains
        : (current?.subjectAlternativeNames ?? (current?.commonName ? [current.commonName] : [])),
      extensionDomains: detail.domainExtensions.map((d) => d.domain),
      ...(https ? { source: https.certificate } : {}),
      serverCertificateId: detail.serverCertificateId,
      ...(current ? { current } : {}),
    });
  }
  for (const d of detail.domainExtensions) {
    const current = byId.get(d.serverCertificateId);
    const specDomain = https?.extensionDomains.find((x) => x.domain.toLowerCase() === d.domain.toLowerCase());
    out.push({
      ...base,
      id: `${lb.loadBalancerId}:${listenerPort}/${d.domain}`,
      kind: 'extensionDomain',
      domainExtensionId: d.domainExtensionId,
      domains: [d.domain],
      ...(specDomain?.certificate ? { source: specDomain.certificate } : {}),
      serverCertificateId: d.serverCertificateId,
      ...(current ? { current } : {}),
    });
  }
  return out;
}

/**
 * The certificates the HTTPS listeners of `loadBalancerIds` bind (default certificates and extension
 * domains'): on load balancers outside the spec, never ours to delete or replace from under them.
 */
export async function certificatesBoundOn(
  slb: SlbClient,
  regionId: string,
  loadBalancerIds: readonly string[],
): Promise<Set<string>> {
  const out = new Set<string>();
  if (loadBalancerIds.length === 0) return out;
  const listeners = await slb.describeListeners({
    regionId,
    loadBalancerIds: [...loadBalancerIds],
    protocol: 'https',
  });
  for (const l of listeners) {
    if (l.listenerProtocol !== 'https') continue;
    const detail = await slb.describeHttpsListener({
      regionId,
      loadBalancerId: l.loadBalancerId,
      listenerPort: l.listenerPort,
    });
    if (detail.serverCertificateId) out.add(detail.serverCertificateId);
    for (const d of detail.domainExtensions) out.add(d.serverCertificateId);
  }
  return out;
}
