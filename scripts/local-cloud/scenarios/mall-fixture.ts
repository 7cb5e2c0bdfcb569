// The mall: the scenario slb-autopilot was born from, as constants shared by the local cloud's default
// scenario, examples/mall.yaml's tests and the demo. One CLB, HTTPS 443 (+ one extension domain), HTTP 80
// redirecting to 443, one VServer group: K8S NodePort at weight 100, ECS hot standby at weight 0.

export const MALL = {
  regionId: 'cn-hangzhou',
  loadBalancerId: 'lb-bp1mall7k8s0demo0001',
  loadBalancerName: 'mall-clb',
  address: '127.0.0.1',
  https: {
    port: 443,
    domains: ['mall.example.com', 'www.mall.example.com'],
    certificateName: 'mall-2025',
  },
  extensionDomain: {
    domainExtensionId: 'de-bp1mall0mobile00001',
    domain: 'm.mall.example.com',
    certificateName: 'mall-mobile-2025',
  },
  http: { port: 80 },
  vServerGroup: {
    vServerGroupId: 'rsp-bp1mall0backends01',
    name: 'mall-backends',
  },
  k8s: {
    serverId: 'i-bp1k8snode000000001',
    port: 30250,
    weight: 100,
    description: 'k8s-nodeport',
    pool: 'primary',
  },
  ecs: {
    serverId: 'i-bp1ecsstandby000001',
    port: 8050,
    weight: 0,
    description: 'ecs-standby',
    pool: 'standby',
  },
  healthCheck: {
    healthCheck: 'on',
    healthCheckURI: '/healthz',
    healthCheckInterval: 2,
    healthyThreshold: 3,
    unhealthyThreshold: 3,
    healthCheckTimeout: 5,
    healthCheckHttpCode: 'http_2xx,http_3xx',
    healthCheckMethod: 'get',
  },
  /** the certificates on the listener and the extension domain expire this many days after start */
  expiringInDays: 10,
  /** the renewed certificate waiting in CAS */
  renewed: {
    certId: 12_800_001,
    name: 'mall-2026',
    domains: ['mall.example.com', 'www.mall.example.com', 'm.mall.example.com'],
    validDays: 90,
  },
  expiredCas: { certId: 12_700_001, name: 'mall-2024', validDaysAgo: 5 },
  /** the zone in Alibaba Cloud DNS that holds the mall's names */
  dns: {
    zone: 'example.com',
    domainId: '00efd71a-mall-zone-0001',
    nameServers: ['dns1.hichina.com', 'dns2.hichina.com'],
    firstRecordId: 1_900_000_001,
  },
} as const;
