// The failover function in-process: every accepted event shape reaches the workflow; malformed events
// are refused naming the field and change nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/failover/index';
import { startStandIn } from '../../scripts/backends/http-backend';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { fcContext } from '../support/fc';
import { startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
});

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
  process.env.SLB_AUTOPILOT_SPEC = mallYaml;
});
afterEach(() => cloud.close());

const invoke = (event: unknown) =>
  handler(Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)), fcContext('failover'));

describe('failover function with real backends', () => {
  it('changes weights once for three deliveries of the same alarm, and not for a dead standby', async () => {
    const k8s = await startStandIn({ name: 'k8s' });
    const ecs = await startStandIn({ name: 'ecs' });
    try {
      cloud.setBackendAddress(`${MALL.k8s.serverId}:30250`, `127.0.0.1:${k8s.port}`);
      cloud.setBackendAddress(`${MALL.ecs.serverId}:8050`, `127.0.0.1:${ecs.port}`);
      await k8s.kill();
      cloud.setHealth({ [`${MALL.k8s.serverId}:30250`]: 'abnormal' });
      const alarm = {
        alertState: 'ALERT',
        alertName: 'mall unhealthy',
        metricName: 'UnhealthyServerCount',
        metricProject: 'acs_slb_dashboard',
        timestamp: '1764000000',
        dimensions: JSON.stringify([{ instanceId: MALL.loadBalancerId, port: '443' }]),
        curValue: '1',
      };
      const results = [await invoke(alarm), await invoke(alarm), await invoke(alarm)];
      expect(results.map((r) => r.reports[0]?.changed)).toEqual([true, false, false]);
      expect(cloud.calls().calls.SetVServerGroupAttribute).toBe(1);
      const weights = cloud.state().vServerGroups[0]?.backendServers.map((b) => b.weight);
      expect(weights).toEqual([0, 100]);
    } finally {
      await k8s.close();
      await ecs.close();
    }
  });
});

describe('failover function', () => {
  it.each([
    ['not JSON', 'nope{', /^event/],
    ['an unknown shape', { hello: 'world' }, /^event/],
    [
      'a manual command with a bad id',
      { command: 'toStandby', loadBalancerId: 'mall' },
      /loadBalancerId: must be a load balancer id/,
    ],
    [
      'a manual command with an unknown verb',
      { command: 'explode', loadBalancerId: MALL.loadBalancerId },
      /command: must be one of auto, toStandby, toPrimary/,
    ],
  ])('refuses %s, naming the field, changing nothing', async (_name, event, message) => {
    const before = cloud.state();
    const r = await invoke(event);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(message);
    expect(cloud.calls().total).toBe(0);
    expect(cloud.state()).toEqual(before);
  });

  it('refuses a load balancer the spec does not manage, changing nothing', async () => {
    const before = cloud.state();
    const r = await invoke({ command: 'toStandby', loadBalancerId: 'lb-notmanaged000001' });
    expect(r).toMatchObject({
      ok: false,
      error: expect.stringMatching(/is not a load balancer the spec manages/),
    });
    expect(cloud.state()).toEqual(before);
  });

  it('turns a CloudMonitor alarm delivered by EventBridge into an automatic run that holds while K8S is healthy', async () => {
    const r = await invoke({
      id: 'evt-1',
      source: 'acs.cloudmonitor',
      specversion: '1.0',
      type: 'cms:Alarm:UnhealthyServerCount',
      aliyunregionid: 'cn-hangzhou',
      data: {
        alertState: 'ALERT',
        alertName: 'mall unhealthy',
        metricName: 'UnhealthyServerCount',
        metricProject: 'acs_slb_dashboard',
        timestamp: '1764000000',
        dimensions: JSON.stringify([{ instanceId: MALL.loadBalancerId, port: '443' }]),
        curValue: '1',
      },
    });
    expect(r.ok).toBe(true);
    expect(r.reports[0]).toMatchObject({ origin: 'eventbridge', command: 'auto', changed: false });
    expect(cloud.calls().calls.SetVServerGroupAttribute).toBeUndefined();
  });
});
