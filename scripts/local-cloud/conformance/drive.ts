// Drives every typed SLB, CAS and DNS call of our cloud layer (shared/cloud/) once against a local cloud
// holding the mall, so the requests it sends and the answers it gets can be checked against the
// official API description. It builds a second load balancer beside the mall's and takes it down
// again, touching every action on the way; the mall itself is only read.
// The conformance tests and `npm run conformance` share it, so both see the same requests.

import type { Cloud } from '../../../shared/cloud/index';
import { MALL } from '../scenarios/mall-fixture';

export type CloudLayerMethod =
  | `slb.${keyof Cloud['slb'] & string}`
  | `cas.${keyof Cloud['cas'] & string}`
  | `dns.${keyof Cloud['dns'] & string}`;

/** Runs every method of the typed clients; returns the methods it ran, in order. */
export async function driveCloudLayer(cloud: Cloud): Promise<CloudLayerMethod[]> {
  const ran: CloudLayerMethod[] = [];
  const slb = new Proxy(cloud.slb, {
    get: (target, name: string) => {
      ran.push(`slb.${name}` as CloudLayerMethod);
      return target[name as keyof typeof target];
    },
  });
  const cas = new Proxy(cloud.cas, {
    get: (target, name: string) => {
      ran.push(`cas.${name}` as CloudLayerMethod);
      return target[name as keyof typeof target];
    },
  });
  const dns = new Proxy(cloud.dns, {
    get: (target, name: string) => {
      ran.push(`dns.${name}` as CloudLayerMethod);
      return target[name as keyof typeof target];
    },
  });
  const regionId = MALL.regionId;
  const marker = [{ key: 'managed-by', value: 'slb-autopilot' }];
  const k8s = { serverId: MALL.k8s.serverId, port: 9001, weight: 100, description: 'k8s-nodeport' };
  const ecs = { serverId: MALL.ecs.serverId, port: 9002, weight: 0 };

  // Alibaba Cloud DNS: what ACME DNS-01 does with the mall's zone.
  const [zone] = await dns.listZones();
  if (!zone) throw new Error('the mall has no DNS zone');
  const recordId = await dns.addTxtRecord({
    zone: zone.domainName,
    rr: '_acme-challenge.mall',
    value: 'token',
  });
  await dns.listTxtRecords(zone.domainName, '_acme-challenge.mall');
  await dns.deleteRecord(recordId);

  // CAS: the renewed certificate waits there, with its key.
  const casCerts = await cas.listCertificates();
  const renewed = casCerts.find((c) => c.certId === MALL.renewed.certId) ?? casCerts[0];
  if (!renewed) throw new Error('the mall has no CAS certificate');
  const pair = await cas.getCertificate(renewed.certId);
  await cas.uploadCertificate({
    name: 'conformance-upload',
    certPem: pair.certPem,
    privateKey: pair.privateKey,
  });

  // A load balancer of our own.
  await slb.describeLoadBalancers({ regionId, loadBalancerIds: [MALL.loadBalancerId], tags: marker });
  const { loadBalancerId } = await slb.createLoadBalancer({
    regionId,
    loadBalancerName: 'conformance-lb',
    addressType: 'intranet',
    loadBalancerSpec: 'slb.s1.small',
    tags: marker,
  });
  await slb.describeLoadBalancer({ regionId, loadBalancerId });
  await slb.setLoadBalancerStatus({ regionId, loadBalancerId, loadBalancerStatus: 'inactive' });
  await slb.setLoadBalancerStatus({ regionId, loadBalancerId, loadBalancerStatus: 'active' });

  // A group: created, grown, weighted, swapped, shrunk.
  const { vServerGroupId } = await slb.createVServerGroup({
    regionId,
    loadBalancerId,
    vServerGroupName: 'conformance-group',
    backendServers: [k8s],
    tags: marker,
  });
  await slb.addBackendServers({ regionId, vServerGroupId, backendServers: [ecs] });
  await slb.setVServerGroupAttribute({
    regionId,
    vServerGroupId,
    vServerGroupName: 'conformance-group-2',
    backendServers: [{ ...ecs, weight: 50 }],
  });
  await slb.modifyBackendServers({
    regionId,
    vServerGroupId,
    oldBackendServers: [{ ...ecs, weight: 50 }],
    newBackendServers: [{ ...ecs, port: 9003, weight: 10 }],
  });
  await slb.removeBackendServers({ regionId, vServerGroupId, backendServers: [{ ...ecs, port: 9003 }] });
  await slb.describeVServerGroup({ regionId, vServerGroupId });

  // Certificates: one from PEM, one from CAS.
  const pem = await slb.uploadServerCertificate({
    regionId,
    serverCertificateName: 'conformance-pem',
    pem: { certificate: pair.certPem, privateKey: pair.privateKey.reveal() },
    tags: marker,
  });
  const fromCas = await slb.uploadServerCertificate({
    regionId,
    serverCertificateName: 'conformance-cas',
    cas: { certificateId: String(renewed.certId), certificateName: renewed.name, regionId },
  });
  await slb.renameServerCertificate({
    regionId,
    serverCertificateId: fromCas.serverCertificateId,
    serverCertificateName: 'conformance-cas-2',
  });
  await slb.describeServerCertificates({ regionId, tags: marker });

  // Listeners: HTTPS with health checks, an HTTP redirect to it, a plain HTTP one.
  const at = (listenerPort: number) => ({ regionId, loadBalancerId, listenerPort });
  await slb.createHttpsListener({
    ...at(443),
    vServerGroupId,
    serverCertificateId: pem.serverCertificateId,
    healthCheck: { enabled: true, uri: '/healthz', httpCodes: ['http_2xx', 'http_3xx'], interval: 2 },
    tags: marker,
  });
  await slb.createHttpListener({ ...at(80), forwardPort: 443, tags: marker });
  await slb.createHttpListener({ ...at(8080), vServerGroupId, scheduler: 'rr' });
  await slb.setHttpsListenerAttribute({
    ...at(443),
    serverCertificateId: fromCas.serverCertificateId,
    healthCheck: { enabled: true, uri: '/ready?probe&full', timeout: 5, method: 'get' },
    attributes: { StickySession: 'off', EnableHttp2: 'on' },
  });
  await slb.setHttpListenerAttribute({
    ...at(8080),
    bandwidth: 100,
    vServerGroupId,
    description: 'plain-8080',
  });
  await slb.startListener({ ...at(443), protocol: 'https' });
  await slb.startListener(at(80));
  await slb.stopListener(at(80));
  await slb.describeListeners({ regionId, loadBalancerIds: [loadBalancerId, MALL.loadBalancerId] });
  await slb.describeHttpsListener(at(443));
  await slb.describeHttpListener(at(80));
  await slb.describeVServerGroups({ regionId, loadBalancerId, includeListeners: true, includeRules: true });

  // Extension domains and forwarding rules on the HTTPS listener.
  const { domainExtensionId } = await slb.createDomainExtension({
    ...at(443),
    domain: 'm.conformance.example.com',
    serverCertificateId: pem.serverCertificateId,
  });
  await slb.describeDomainExtensions(at(443));
  await slb.setDomainExtensionCertificate({
    regionId,
    domainExtensionId,
    serverCertificateId: fromCas.serverCertificateId,
  });
  await slb.describeDomainExtension({ regionId, domainExtensionId });
  await slb.deleteDomainExtension({ regionId, domainExtensionId });
  const [rule] = await slb.createRules({
    ...at(443),
    rules: [{ ruleName: 'api', domain: 'api.conformance.example.com', url: '/v1', vServerGroupId }],
  });
  if (!rule) throw new Error('CreateRules answered no rule');
  await slb.describeRules(at(443));
  await slb.setRule({ regionId, ruleId: rule.ruleId, ruleName: 'api-2', vServerGroupId });
  await slb.describeRule({ regionId, ruleId: rule.ruleId });
  await slb.deleteRules({ regionId, ruleIds: [rule.ruleId] });
  await slb.describeHealthStatus({ regionId, loadBalancerId });

  // Tags, as the lease and the ownership marker use them.
  const listenerTag = `${loadBalancerId}_https_443`;
  await slb.tagResources({
    regionId,
    resourceType: 'listener',
    resourceIds: [listenerTag],
    tags: [{ key: 'slb-autopilot/lease', value: 'conformance' }],
  });
  await slb.listTagResources({ regionId, resourceType: 'listener', resourceIds: [listenerTag] });
  await slb.untagResources({
    regionId,
    resourceType: 'listener',
    resourceIds: [listenerTag],
    tagKeys: ['slb-autopilot/lease'],
  });

  // Down again: redirect before its target, then the group and certificates nothing uses.
  await slb.deleteListener({ ...at(80), protocol: 'http' });
  await slb.deleteListener({ ...at(8080), protocol: 'http' });
  await slb.stopListener({ ...at(443), protocol: 'https' });
  await slb.deleteListener({ ...at(443), protocol: 'https' });
  await slb.deleteVServerGroup({ regionId, vServerGroupId });
  await slb.deleteServerCertificate({ regionId, serverCertificateId: pem.serverCertificateId });
  await slb.deleteServerCertificate({ regionId, serverCertificateId: fromCas.serverCertificateId });
  await slb.deleteLoadBalancer({ regionId, loadBalancerId });
  return ran;
}
