// Planning specs against the local cloud: observe -> diff -> actions; nothing is written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { planSpec, renderPlan } from '../../scripts/autopilot';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
let cloud: TestCloud;

beforeEach(async () => {
  await cloud?.close();
  cloud = await startTestCloud({ scenario: 'mall' });
});
afterAll(() => cloud.close());

// biome-ignore lint/suspicious/noExplicitAny: edits of the raw YAML tree
const edit = (change: (s: any) => void): string => {
  const s = parseYaml(mallYaml);
  change(s);
  return stringify(s);
};

describe('plan', () => {
  it('plans nothing for the mall against a fresh local cloud, with only reads', async () => {
    const layer = cloudLayerFor(cloud);
    const before = cloud.state();
    const plan = await planSpec(layer, mallYaml, 'mall.yaml');
    expect(plan).toEqual({ actions: [], leftAlone: [] });
    expect(cloud.state()).toEqual(before);
    const calls = layer.accounting.snapshot().calls;
    expect(Object.keys(calls).every((a) => a.startsWith('Describe'))).toBe(true);
    expect(renderPlan(plan)).toContain('No changes');
  });

  it('turns one weight changed in the spec into exactly one action', async () => {
    const plan = await planSpec(
      cloudLayerFor(cloud),
      edit((s) => (s.loadBalancers[0].vServerGroups[0].backends[1].weight = 50)),
      'x',
    );
    expect(plan.actions).toEqual([
      {
        kind: 'setBackendWeights',
        lb: { name: 'mall', loadBalancerId: MALL.loadBalancerId },
        group: 'mall-backends',
        backends: [{ serverId: MALL.ecs.serverId, port: 8050, weight: 50, description: 'ecs-standby' }],
      },
    ]);
  });

  it('shows a weight changed by hand through the API as drift', async () => {
    const layer = cloudLayerFor(cloud);
    await layer.slb.setVServerGroupAttribute({
      regionId: MALL.regionId,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      backendServers: [{ serverId: MALL.k8s.serverId, port: 30250, weight: 10 }],
    });
    const plan = await planSpec(layer, mallYaml, 'mall.yaml');
    expect(plan.actions.map((a) => a.kind)).toEqual(['setBackendWeights']);
    expect(renderPlan(plan)).toContain(`${MALL.k8s.serverId}:30250 -> 100`);
  });

  it('plans health-check drift as one attribute change and lists what it leaves alone', async () => {
    const layer = cloudLayerFor(cloud);
    await layer.slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      healthCheck: { interval: 9 },
    });
    await layer.slb.createHttpListener({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 8080,
      backendServerPort: 80,
    });
    const plan = await planSpec(layer, mallYaml, 'mall.yaml');
    expect(plan.actions).toEqual([
      expect.objectContaining({
        kind: 'setListenerAttribute',
        port: 443,
        changes: { healthCheck: { interval: 2 } },
      }),
    ]);
    expect(plan.leftAlone).toEqual([
      { lb: 'mall', what: 'http listener on port 8080', why: 'not in the spec' },
    ]);
  });

  it('plans the whole mall from an empty region when the spec creates the load balancer', async () => {
    await cloud.close();
    cloud = await startTestCloud({ scenario: 'empty' });
    const spec = edit((s) => {
      delete s.loadBalancers[0].id;
      s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
    });
    const plan = await planSpec(cloudLayerFor(cloud), spec, 'x');
    expect(plan.actions.map((a) => a.kind)).toEqual([
      'createLoadBalancer',
      'createVServerGroup',
      'createListener',
      'createListener',
      'createDomainExtension',
      'startListener',
      'startListener',
    ]);
    expect(
      plan.actions
        .filter((a) => a.kind === 'createListener')
        .map((a) => a.kind === 'createListener' && a.listener.protocol),
    ).toEqual(['https', 'http']);
  });

  it('refuses a bad spec before reading the cloud', async () => {
    const layer = cloudLayerFor(cloud);
    await expect(
      planSpec(
        layer,
        edit((s) => (s.loadBalancers[0].listeners[0].port = 0)),
        'bad.yaml',
      ),
    ).rejects.toThrow(/bad.yaml is not valid/);
    expect(layer.accounting.snapshot().totalCalls).toBe(0);
  });
});
