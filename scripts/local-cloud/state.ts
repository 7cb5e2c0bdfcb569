// The local cloud's resource model: everything the emulator knows, as plain JSON-serialisable data.
// Handlers mutate it; the server snapshots it before each call and restores it when the call fails,
// so a failed call never leaves a partial change behind. Field names follow the API (PascalCase is
// kept only on the wire; here they are camelCase).

export type OnOff = 'on' | 'off';

export interface TagEntry {
  key: string;
  value: string;
}

export interface LoadBalancerRecord {
  loadBalancerId: string;
  loadBalancerName: string;
  regionId: string;
  /** active | inactive | locked */
  loadBalancerStatus: 'active' | 'inactive' | 'locked';
  address: string;
  addressType: 'internet' | 'intranet';
  addressIPVersion: 'ipv4' | 'ipv6';
  networkType: 'vpc' | 'classic';
  vpcId: string;
  vSwitchId: string;
  loadBalancerSpec: string;
  internetChargeType: 'paybytraffic' | 'paybybandwidth';
  bandwidth: number;
  payType: string;
  instanceChargeType: string;
  masterZoneId: string;
  slaveZoneId: string;
  resourceGroupId: string;
  deleteProtection: OnOff;
  createTime: string; // ISO, seconds precision
  tags: TagEntry[];
  /** CreateLoadBalancer's idempotency token */
  clientToken?: string;
}

/** Everything Create/Set*Listener accepts, kept verbatim by (lower-camel) field name. */
export interface ListenerRecord {
  loadBalancerId: string;
  listenerPort: number;
  listenerProtocol: 'http' | 'https' | 'tcp' | 'udp';
  /** running | stopped | starting | configuring */
  status: 'running' | 'stopped' | 'starting' | 'configuring';
  bandwidth: number;
  scheduler: 'wrr' | 'rr';
  backendServerPort?: number;
  vServerGroupId?: string;
  description?: string;
  /** HTTPS only */
  serverCertificateId?: string;
  caCertificateId?: string;
  /** HTTP only: redirect to an HTTPS listener */
  listenerForward?: OnOff;
  forwardPort?: number;
  healthCheck: HealthCheckSettings;
  /** the rest of the listener attributes (StickySession, Gzip, IdleTimeout, XForwardedFor*, ...) by wire name */
  extra: Record<string, string | number>;
  tags: TagEntry[];
  /** epoch ms until which the listener reports a transitional status (fault injection) */
  busyUntil?: number;
}

export interface HealthCheckSettings {
  healthCheck: OnOff;
  healthCheckURI?: string;
  healthCheckDomain?: string;
  healthCheckConnectPort?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  healthCheckInterval?: number;
  healthCheckTimeout?: number;
  healthCheckHttpCode?: string;
  healthCheckMethod?: 'head' | 'get';
}

export interface BackendServerRecord {
  serverId: string;
  port: number;
  weight: number;
  type: 'ecs' | 'eni' | 'eci';
  serverIp?: string;
  description?: string;
}

export interface VServerGroupRecord {
  vServerGroupId: string;
  vServerGroupName: string;
  loadBalancerId: string;
  regionId: string;
  createTime: string;
  backendServers: BackendServerRecord[];
  tags: TagEntry[];
}

export interface ServerCertificateRecord {
  serverCertificateId: string;
  serverCertificateName: string;
  regionId: string;
  resourceGroupId: string;
  /** colon-separated lower-case SHA-1 hex, as SLB reports it */
  fingerprint: string;
  commonName: string;
  subjectAlternativeNames: string[];
  expireTime: string;
  expireTimeStamp: number;
  createTime: string;
  createTimeStamp: number;
  isAliCloudCertificate: 0 | 1;
  aliCloudCertificateId: string;
  aliCloudCertificateName: string;
  /** PEM, kept so the TLS front ends can serve it; never returned by the API */
  certificatePem: string;
  privateKeyPem: string;
  tags: TagEntry[];
}

export interface DomainExtensionRecord {
  domainExtensionId: string;
  regionId: string;
  loadBalancerId: string;
  listenerPort: number;
  domain: string;
  serverCertificateId: string;
}

export interface RuleRecord {
  ruleId: string;
  ruleName: string;
  regionId: string;
  loadBalancerId: string;
  listenerPort: number;
  listenerProtocol: 'http' | 'https';
  domain?: string;
  url?: string;
  vServerGroupId: string;
  /** the rest of the rule attributes (ListenerSync, Scheduler, health-check fields) by wire name */
  extra: Record<string, string | number>;
}

export interface BackendInstanceRecord {
  /** an ECS instance (or ENI/ECI) that backends may reference: only running ones can be added */
  serverId: string;
  regionId: string;
  privateIp: string;
  status: 'Running' | 'Stopped';
  description?: string;
}

export interface CasCertificateRecord {
  certId: number;
  name: string;
  commonName: string;
  sans: string[];
  certPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
  fingerprint: string;
  sha2: string;
  serialNo: string;
  issuer: string;
  /** true when uploaded by the user (UploadUserCertificate), false when issued through CAS */
  upload: boolean;
  resourceGroupId: string;
  regionId: string;
}

/** An Alibaba Cloud DNS zone (a domain added to the account). Alidns is global: no region. */
export interface DnsDomainRecord {
  domainId: string;
  domainName: string;
  createTimestamp: number;
  /** the zone's authoritative servers, as DescribeDomainInfo lists them */
  dnsServers: string[];
}

/** A record in a zone, as Alidns keeps it: RR relative to the zone (`@` for the apex). */
export interface DnsRecordRecord {
  recordId: string;
  domainName: string;
  rr: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'CAA' | 'MX' | 'NS';
  value: string;
  ttl: number;
  line: string;
  priority?: number;
  status: 'ENABLE' | 'DISABLE';
  createTimestamp: number;
  updateTimestamp: number;
}

export interface CloudState {
  /** monotonically increasing counter used for ids */
  seq: number;
  loadBalancers: LoadBalancerRecord[];
  listeners: ListenerRecord[];
  vServerGroups: VServerGroupRecord[];
  serverCertificates: ServerCertificateRecord[];
  domainExtensions: DomainExtensionRecord[];
  rules: RuleRecord[];
  instances: BackendInstanceRecord[];
  casCertificates: CasCertificateRecord[];
  dnsDomains: DnsDomainRecord[];
  dnsRecords: DnsRecordRecord[];
  /**
   * Health of a backend, keyed `${serverId}:${port}`. With real health checks off: what the admin API
   * set, absent means `normal`. With them on (health-checker.ts): the worst status any listener's
   * check found, overridden by what the admin API forced.
   */
  backendHealth: Record<string, HealthStatus>;
  /**
   * Present only while real health checks run: the status per (listener, backend), keyed by
   * listenerBackendKey(), forced health applied; absent key = not checked yet (`unavailable`).
   */
  listenerHealth?: Record<string, HealthStatus>;
}

/** DescribeHealthStatus's ServerHealthStatus; `unavailable`: not checked (off, stopped, not finished). */
export type HealthStatus = 'normal' | 'abnormal' | 'unavailable';

/** `${loadBalancerId}/${listenerProtocol}:${listenerPort}/${serverId}:${port}` */
export function listenerBackendKey(
  l: Pick<ListenerRecord, 'loadBalancerId' | 'listenerProtocol' | 'listenerPort'>,
  b: Pick<BackendServerRecord, 'serverId' | 'port'>,
): string {
  return `${l.loadBalancerId}/${l.listenerProtocol}:${l.listenerPort}/${b.serverId}:${b.port}`;
}

export function emptyState(): CloudState {
  return {
    seq: 1,
    loadBalancers: [],
    listeners: [],
    vServerGroups: [],
    serverCertificates: [],
    domainExtensions: [],
    rules: [],
    instances: [],
    casCertificates: [],
    dnsDomains: [],
    dnsRecords: [],
    backendHealth: {},
  };
}
