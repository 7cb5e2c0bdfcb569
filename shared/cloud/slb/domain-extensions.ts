// Typed SLB actions: domain extensions (SNI certificates on an HTTPS listener; at most 3 by default).
import { deleteIdempotently } from '../errors';
import type { RpcCaller } from '../rpc-types';
import { list, num, reqStr, str } from './wire';

export interface DomainExtension {
  domainExtensionId: string;
  domain: string;
  serverCertificateId: string;
  loadBalancerId?: string;
  listenerPort?: number;
}

const toExtension = (o: Record<string, unknown>): DomainExtension => ({
  domainExtensionId: reqStr(o.DomainExtensionId, 'DomainExtensionId'),
  domain: str(o.Domain) ?? '',
  serverCertificateId: str(o.ServerCertificateId) ?? '',
  loadBalancerId: str(o.LoadBalancerId),
  listenerPort: num(o.ListenerPort),
});

async function createDomainExtension(
  rpc: RpcCaller,
  req: {
    regionId: string;
    loadBalancerId: string;
    listenerPort: number;
    /** wildcards allowed, e.g. *.example.com */
    domain: string;
    serverCertificateId: string;
  },
): Promise<{ domainExtensionId: string }> {
  const body = await rpc.call({
    product: 'slb',
    action: 'CreateDomainExtension',
    regionId: req.regionId,
    params: {
      LoadBalancerId: req.loadBalancerId,
      ListenerPort: req.listenerPort,
      Domain: req.domain,
      ServerCertificateId: req.serverCertificateId,
    },
    write: true,
  });
  return { domainExtensionId: reqStr(body.DomainExtensionId, 'DomainExtensionId') };
}

async function describeDomainExtensions(
  rpc: RpcCaller,
  req: { regionId: string; loadBalancerId: string; listenerPort: number },
): Promise<DomainExtension[]> {
  const body = await rpc.call({
    product: 'slb',
    action: 'DescribeDomainExtensions',
    regionId: req.regionId,
    params: { LoadBalancerId: req.loadBalancerId, ListenerPort: req.listenerPort },
    write: false,
  });
  return list(body, 'DomainExtensions', 'DomainExtension').map((d) => ({
    ...toExtension(d),
    loadBalancerId: req.loadBalancerId,
    listenerPort: req.listenerPort,
  }));
}

async function describeDomainExtension(
  rpc: RpcCaller,
  req: { regionId: string; domainExtensionId: string },
): Promise<DomainExtension> {
  const body = await rpc.call({
    product: 'slb',
    action: 'DescribeDomainExtensionAttribute',
    regionId: req.regionId,
    params: { DomainExtensionId: req.domainExtensionId },
    write: false,
  });
  return toExtension(body);
}

/** Only the certificate of a domain extension can change (a new domain is a new extension). */
async function setDomainExtensionCertificate(
  rpc: RpcCaller,
  req: { regionId: string; domainExtensionId: string; serverCertificateId: string },
): Promise<void> {
  await rpc.call({
    product: 'slb',
    action: 'SetDomainExtensionAttribute',
    regionId: req.regionId,
    params: { DomainExtensionId: req.domainExtensionId, ServerCertificateId: req.serverCertificateId },
    write: true,
  });
}

/**
 * Idempotent: an extension domain that is already gone counts as deleted (a retry after an answer that was
 * lost). SLB answers an unknown id with InvalidParameter.DomainExtensionId (Terraform's provider reads it
 * as "not found" too).
 */
async function deleteDomainExtension(
  rpc: RpcCaller,
  req: { regionId: string; domainExtensionId: string },
): Promise<void> {
  const write = () =>
    rpc.call({
      product: 'slb',
      action: 'DeleteDomainExtension',
      regionId: req.regionId,
      params: { DomainExtensionId: req.domainExtensionId },
      write: true,
    });
  return deleteIdempotently(write, 'InvalidParameter.DomainExtensionId');
}

export function domainExtensionApi(rpc: RpcCaller) {
  return {
    createDomainExtension: (req: Parameters<typeof createDomainExtension>[1]) =>
      createDomainExtension(rpc, req),
    describeDomainExtensions: (req: Parameters<typeof describeDomainExtensions>[1]) =>
      describeDomainExtensions(rpc, req),
    describeDomainExtension: (req: Parameters<typeof describeDomainExtension>[1]) =>
      describeDomainExtension(rpc, req),
    setDomainExtensionCertificate: (req: Parameters<typeof setDomainExtensionCertificate>[1]) =>
      setDomainExtensionCertificate(rpc, req),
    deleteDomainExtension: (req: Parameters<typeof deleteDomainExtension>[1]) =>
      deleteDomainExtension(rpc, req),
  };
}
