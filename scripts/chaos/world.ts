// The world a chaos run plays in: a local cloud on 127.0.0.1:0 holding the mall plus resources we do
// not own (seeded once through the API by a "hand" key, then restored for every run), backend stand-ins
// whose health the run controls (SLB's view and our probes agree), and one AccessKey per actor, so the
// local cloud's call records say who wrote what.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallAccounting } from '../../shared/cloud/accounting';
import { createCasClient } from '../../shared/cloud/cas';
import { RateBudget } from '../../shared/cloud/rate-budget';
import { createRpcClient } from '../../shared/cloud/rpc';
import type { RpcCaller } from '../../shared/cloud/rpc-types';
import { createSlbClient } from '../../shared/cloud/slb';
import { createTestCa } from '../local-cloud/pki';
import { MALL } from '../local-cloud/scenarios/mall-fixture';
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  type LocalCloud,
  startLocalCloud,
} from '../local-cloud/server';
import type { CloudState, HealthStatus } from '../local-cloud/state';

export const ACTORS = ['apply', 'renewal', 'audit', 'failover', 'hand', 'checker'] as const;
export type Actor = (typeof ACTORS)[number];

const ROOMY = { capacity: 100_000, refillPerSecond: 100_000 };

const keyOf = (actor: Actor) => ({
  accessKeyId: `LTAI5tChaos${actor[0]?.toUpperCase()}${actor.slice(1)}`,
  accessKeySecret: `chaos-${actor}-secret-not-for-production`,
});
export const accessKeyIdOf = (actor: Actor): string => keyOf(actor).accessKeyId;

/** The backends a run can kill and revive: the mall's two, and one added to the adopted group by hand. */
export const BACKENDS = {
  k8s: `${MALL.k8s.serverId}:${MALL.k8s.port}`,
  ecs: `${MALL.ecs.serverId}:${MALL.ecs.port}`,
  hand: `${MALL.ecs.serverId}:9090`,
} as const;
export type BackendName = keyof typeof BACKENDS;

/** What was made by hand beside the mall: never ours to change. */
export const UNOWNED = {
  groupName: 'web-team',
  groupTag: { key: 'team', value: 'web' },
  httpListenerPort: 8081,
  httpsListenerPort: 8443,
  certificateName: 'hand-uploaded-web',
  handBackend: BACKENDS.hand,
} as const;

export interface ActorCloud {
  rpc: RpcCaller;
  slb: ReturnType<typeof createSlbClient>;
  cas: ReturnType<typeof createCasClient>;
}

export interface World {
  cloud: LocalCloud;
  /** the state every run starts from: the mall plus the hand-made resources */
  baseline: CloudState;
  /** a fresh client for an actor, its RPC caller optionally wrapped (e.g. by a kill switch) */
  client(actor: Actor, wrap?: (rpc: RpcCaller) => RpcCaller): ActorCloud;
  /** where a backend's stand-in answers */
  resolveBackend(b: { serverId: string; port: number }): Promise<{ host: string; port: number }>;
  setBackendUp(name: BackendName, up: boolean): void;
  backendUp(name: BackendName): boolean;
  /** back to the baseline, faults cleared, every backend up */
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function standIn(isUp: () => boolean): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(isUp() ? 200 : 503, { 'content-type': 'text/plain' }).end(isUp() ? 'ok' : 'down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export async function startWorld(): Promise<World> {
  const keys = Object.fromEntries([
    [DEFAULT_ACCESS_KEY_ID, { secret: DEFAULT_ACCESS_KEY_SECRET }],
    ...ACTORS.map((a) => [keyOf(a).accessKeyId, { secret: keyOf(a).accessKeySecret }]),
  ]);
  const cloud = await startLocalCloud({ port: 0, scenario: 'mall', keys, healthChecks: 'off' });
  const up: Record<BackendName, boolean> = { k8s: true, ecs: true, hand: true };
  const servers: Server[] = [];
  const ports = {} as Record<BackendName, number>;
  for (const name of Object.keys(BACKENDS) as BackendName[]) {
    const s = await standIn(() => up[name]);
    servers.push(s.server);
    ports[name] = s.port;
  }
  const byKey = new Map<string, BackendName>(
    Object.entries(BACKENDS).map(([name, key]) => [key, name as BackendName]),
  );

  const client = (actor: Actor, wrap?: (rpc: RpcCaller) => RpcCaller): ActorCloud => {
    const raw = createRpcClient({
      credentials: keyOf(actor),
      endpoint: cloud.endpoint,
      // Fast retries: the faults are the point, not the waiting; a fresh budget per client.
      retry: { baseDelayMs: 1, maxDelayMs: 4, deadlineMs: 5_000 },
      // A roomy budget: throttling answers still shrink it, but the run does not wait out real minutes.
      budget: new RateBudget({ read: ROOMY, write: ROOMY }),
      accounting: new CallAccounting(),
      readTimeoutMs: 10_000,
    });
    const rpc = wrap ? wrap(raw) : raw;
    return { rpc, slb: createSlbClient(rpc), cas: createCasClient(rpc) };
  };

  await seedUnowned(client('hand').rpc);
  const baseline = cloud.state();

  const world: World = {
    cloud,
    baseline,
    client,
    resolveBackend: async (b) => {
      const name = byKey.get(`${b.serverId}:${b.port}`);
      // a backend we do not know answers nowhere (port 1 refuses)
      return { host: '127.0.0.1', port: name ? ports[name] : 1 };
    },
    setBackendUp: (name, isUp) => {
      up[name] = isUp;
      const status: HealthStatus = isUp ? 'normal' : 'abnormal';
      cloud.setHealth({ [BACKENDS[name]]: status });
    },
    backendUp: (name) => up[name],
    reset: async () => {
      await cloud.resetTo(baseline);
      for (const name of Object.keys(up) as BackendName[]) up[name] = true;
    },
    close: async () => {
      await cloud.close();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
  return world;
}

/**
 * Resources made by hand in the console, beside the mall: a hand-uploaded certificate, a group and an
 * HTTP and an HTTPS listener on it, all tagged team=web, and one more backend in the adopted group.
 */
async function seedUnowned(rpc: RpcCaller): Promise<void> {
  const regionId = MALL.regionId;
  const call = (action: string, params: Record<string, string | number>) =>
    rpc.call({ product: 'slb', action, regionId, params, write: !action.startsWith('Describe') });
  const ca = await createTestCa({ now: new Date() });
  const now = Date.now();
  const issued = await ca.issue({
    commonName: 'web.example.com',
    sans: ['web.example.com'],
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 400 * 86_400_000),
  });
  const cert = await call('UploadServerCertificate', {
    ServerCertificate: issued.chainPem,
    PrivateKey: issued.keyPem,
    ServerCertificateName: UNOWNED.certificateName,
  });
  const group = await call('CreateVServerGroup', {
    LoadBalancerId: MALL.loadBalancerId,
    VServerGroupName: UNOWNED.groupName,
    BackendServers: JSON.stringify([{ ServerId: MALL.ecs.serverId, Port: 8050, Weight: 50 }]),
  });
  const groupId = String(group.VServerGroupId);
  await call('TagResources', {
    ResourceType: 'vservergroup',
    'ResourceId.1': groupId,
    'Tag.1.Key': UNOWNED.groupTag.key,
    'Tag.1.Value': UNOWNED.groupTag.value,
  });
  await call('CreateLoadBalancerHTTPListener', {
    LoadBalancerId: MALL.loadBalancerId,
    'Tag.1.Key': UNOWNED.groupTag.key,
    'Tag.1.Value': UNOWNED.groupTag.value,
    ListenerPort: UNOWNED.httpListenerPort,
    VServerGroupId: groupId,
    HealthCheck: 'off',
    Bandwidth: -1,
  });
  await call('CreateLoadBalancerHTTPSListener', {
    LoadBalancerId: MALL.loadBalancerId,
    'Tag.1.Key': UNOWNED.groupTag.key,
    'Tag.1.Value': UNOWNED.groupTag.value,
    ListenerPort: UNOWNED.httpsListenerPort,
    VServerGroupId: groupId,
    HealthCheck: 'off',
    Bandwidth: -1,
    ServerCertificateId: String(cert.ServerCertificateId),
  });
  for (const port of [UNOWNED.httpListenerPort, UNOWNED.httpsListenerPort])
    await call('StartLoadBalancerListener', { LoadBalancerId: MALL.loadBalancerId, ListenerPort: port });
  await call('AddVServerGroupBackendServers', {
    VServerGroupId: MALL.vServerGroup.vServerGroupId,
    BackendServers: JSON.stringify([
      { ServerId: MALL.ecs.serverId, Port: 9090, Weight: 10, Description: 'hand-added' },
    ]),
  });
}
