// Builds the mall (see mall-fixture.ts) as local-cloud state, with certificates issued at start-up by
// the local test CA: nothing that expires is stored in the repository.

import { parseCertificate } from '../../../shared/domain/certificate';
import { createTestCa, type IssuedCertificate } from '../pki';
import { isoSeconds } from '../slb/common';
import { LISTENER_DEFAULTS } from '../slb/listeners';
import {
  type CasCertificateRecord,
  type CloudState,
  emptyState,
  type ListenerRecord,
  type ServerCertificateRecord,
} from '../state';
import { MALL } from './mall-fixture';

const DAY = 24 * 3600_000;

function serverCertificate(
  id: string,
  name: string,
  issued: IssuedCertificate,
  created: Date,
): ServerCertificateRecord {
  const p = parseCertificate(issued.certPem);
  return {
    serverCertificateId: id,
    serverCertificateName: name,
    regionId: MALL.regionId,
    resourceGroupId: 'rg-acfmall0default',
    fingerprint: p.fingerprint,
    commonName: p.commonName,
    subjectAlternativeNames: p.sans,
    expireTime: isoSeconds(p.notAfter),
    expireTimeStamp: p.notAfter.getTime(),
    createTime: isoSeconds(created),
    createTimeStamp: created.getTime(),
    isAliCloudCertificate: 0,
    aliCloudCertificateId: '',
    aliCloudCertificateName: '',
    certificatePem: issued.chainPem,
    privateKeyPem: issued.keyPem,
    tags: [],
  };
}

function casCertificate(certId: number, name: string, issued: IssuedCertificate): CasCertificateRecord {
  const p = parseCertificate(issued.certPem);
  return {
    certId,
    name,
    commonName: p.commonName,
    sans: p.sans,
    certPem: issued.chainPem,
    keyPem: issued.keyPem,
    notBefore: p.notBefore.getTime(),
    notAfter: p.notAfter.getTime(),
    fingerprint: p.fingerprint.replace(/:/g, '').toUpperCase(),
    sha2: p.sha256.toUpperCase(),
    serialNo: p.serialNo,
    issuer: p.issuer,
    upload: false,
    resourceGroupId: 'rg-acfmall0default',
    regionId: MALL.regionId,
  };
}

export async function mallScenario(now: Date): Promise<CloudState> {
  const ca = await createTestCa({ now });
  const t = now.getTime();
  const [listenerCert, mobileCert, renewed, expired] = await Promise.all([
    ca.issue({
      commonName: MALL.https.domains[1],
      sans: [...MALL.https.domains],
      notBefore: new Date(t - 80 * DAY),
      notAfter: new Date(t + MALL.expiringInDays * DAY),
    }),
    ca.issue({
      commonName: MALL.extensionDomain.domain,
      sans: [MALL.extensionDomain.domain],
      notBefore: new Date(t - 80 * DAY),
      notAfter: new Date(t + MALL.expiringInDays * DAY),
    }),
    ca.issue({
      commonName: MALL.renewed.domains[1],
      sans: [...MALL.renewed.domains],
      notBefore: new Date(t - DAY),
      notAfter: new Date(t + MALL.renewed.validDays * DAY),
    }),
    ca.issue({
      commonName: MALL.https.domains[1],
      sans: [...MALL.https.domains],
      notBefore: new Date(t - 400 * DAY),
      notAfter: new Date(t - MALL.expiredCas.validDaysAgo * DAY),
    }),
  ]);
  const created = new Date(t - 80 * DAY);
  const state = emptyState();
  const certId = (suffix: string) => `1231579085529123_18f2a${suffix}_1714763408_709981430`;
  const listenerCertId = certId('01');
  const mobileCertId = certId('02');

  state.instances.push(
    {
      serverId: MALL.k8s.serverId,
      regionId: MALL.regionId,
      privateIp: '127.0.0.1',
      status: 'Running',
      description: 'k8s node',
    },
    {
      serverId: MALL.ecs.serverId,
      regionId: MALL.regionId,
      privateIp: '127.0.0.1',
      status: 'Running',
      description: 'ecs',
    },
  );
  state.loadBalancers.push({
    loadBalancerId: MALL.loadBalancerId,
    loadBalancerName: MALL.loadBalancerName,
    regionId: MALL.regionId,
    loadBalancerStatus: 'active',
    address: MALL.address,
    addressType: 'internet',
    addressIPVersion: 'ipv4',
    networkType: 'classic',
    vpcId: '',
    vSwitchId: '',
    loadBalancerSpec: 'slb.s2.small',
    internetChargeType: 'paybytraffic',
    bandwidth: 5120,
    payType: 'PayOnDemand',
    instanceChargeType: 'PayBySpec',
    masterZoneId: 'cn-hangzhou-k',
    slaveZoneId: 'cn-hangzhou-j',
    resourceGroupId: 'rg-acfmall0default',
    deleteProtection: 'off',
    createTime: isoSeconds(created),
    tags: [{ key: 'app', value: 'mall' }],
  });
  state.vServerGroups.push({
    vServerGroupId: MALL.vServerGroup.vServerGroupId,
    vServerGroupName: MALL.vServerGroup.name,
    loadBalancerId: MALL.loadBalancerId,
    regionId: MALL.regionId,
    createTime: isoSeconds(created),
    backendServers: [MALL.k8s, MALL.ecs].map((b) => ({
      serverId: b.serverId,
      port: b.port,
      weight: b.weight,
      type: 'ecs' as const,
      serverIp: '127.0.0.1',
      description: b.description,
    })),
    tags: [],
  });
  const common = {
    loadBalancerId: MALL.loadBalancerId,
    status: 'running',
    bandwidth: -1,
    scheduler: 'wrr',
  } satisfies Partial<ListenerRecord>;
  state.listeners.push(
    {
      ...common,
      listenerPort: MALL.https.port,
      listenerProtocol: 'https',
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      serverCertificateId: listenerCertId,
      healthCheck: { ...MALL.healthCheck },
      tags: [],
      extra: { ...LISTENER_DEFAULTS, EnableHttp2: 'on' },
    },
    {
      ...common,
      listenerPort: MALL.http.port,
      listenerProtocol: 'http',
      listenerForward: 'on',
      forwardPort: MALL.https.port,
      healthCheck: { healthCheck: 'off' },
      tags: [],
      extra: { ...LISTENER_DEFAULTS },
    },
  );
  state.serverCertificates.push(
    serverCertificate(listenerCertId, MALL.https.certificateName, listenerCert, created),
    serverCertificate(mobileCertId, MALL.extensionDomain.certificateName, mobileCert, created),
  );
  state.domainExtensions.push({
    domainExtensionId: MALL.extensionDomain.domainExtensionId,
    regionId: MALL.regionId,
    loadBalancerId: MALL.loadBalancerId,
    listenerPort: MALL.https.port,
    domain: MALL.extensionDomain.domain,
    serverCertificateId: mobileCertId,
  });
  state.casCertificates.push(
    casCertificate(MALL.renewed.certId, MALL.renewed.name, renewed),
    casCertificate(MALL.expiredCas.certId, MALL.expiredCas.name, expired),
  );
  // The mall's zone in Alibaba Cloud DNS: its names point at the load balancer (ACME DNS-01 adds TXT).
  const zoneCreated = now.getTime() - 400 * DAY;
  state.dnsDomains.push({
    domainId: MALL.dns.domainId,
    domainName: MALL.dns.zone,
    createTimestamp: zoneCreated,
    dnsServers: [...MALL.dns.nameServers],
  });
  for (const [i, name] of [...MALL.renewed.domains].entries())
    state.dnsRecords.push({
      recordId: String(MALL.dns.firstRecordId + i),
      domainName: MALL.dns.zone,
      rr: name.slice(0, -(MALL.dns.zone.length + 1)),
      type: 'A',
      value: MALL.address,
      ttl: 600,
      line: 'default',
      status: 'ENABLE',
      createTimestamp: zoneCreated,
      updateTimestamp: zoneCreated,
    });
  return state;
}
