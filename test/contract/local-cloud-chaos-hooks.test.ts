// What chaos testing needs from the local cloud, through the unmodified SDK client: a lost answer (the
// write commits, the client sees its connection reset), call records (when, which key signed, the
// caller hint), a reset to a named scenario that also restores backend addresses.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { OpenApi, rpcParams } from '../../shared/cloud/openapi';
import { callSlb, openApiConfig, sdkError, startTestCloud, type TestCloud } from '../support/local-cloud';

/** admin POSTs carry a JSON content type (the admin routes may refuse others) */
const JSON_BODY = { 'content-type': 'application/json' };

const OTHER = { accessKeyId: 'LTAI5tChaosOperator', accessKeySecret: 'chaos-operator-secret-0123456789' };
const K8S = `${MALL.k8s.serverId}:${MALL.k8s.port}`;
const weightOf = (c: TestCloud) =>
  c.state().vServerGroups[0]?.backendServers.find((b) => b.serverId === MALL.k8s.serverId)?.weight;
const setWeight = (
  c: TestCloud,
  weight: number,
  o: { accessKeyId?: string; accessKeySecret?: string } = {},
) =>
  callSlb(
    c,
    'SetVServerGroupAttribute',
    {
      RegionId: MALL.regionId,
      VServerGroupId: MALL.vServerGroup.vServerGroupId,
      BackendServers: JSON.stringify([{ ServerId: MALL.k8s.serverId, Port: MALL.k8s.port, Weight: weight }]),
    },
    o,
  );

let now = new Date();
let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud({
    scenario: 'mall',
    now: () => now,
    keys: {
      LTAI5tLocalCloudDefault: { secret: 'LocalCloudSecret-NotForProduction' },
      [OTHER.accessKeyId]: { secret: OTHER.accessKeySecret },
    },
  });
});
afterAll(() => cloud.close());
beforeEach(async () => {
  now = new Date();
  await cloud.resetTo('mall');
});

describe('lost answers', () => {
  it('commits the write although the client only sees its connection reset', async () => {
    // Prepare
    cloud.setFaults({ lostAnswerRate: 1 });
    // Act
    const err = await sdkError(setWeight(cloud, 37));
    // Assess: the SDK saw a network failure, not an API answer; the change stands
    expect(String((err as unknown as Error).message)).toMatch(/socket hang up|ECONNRESET/);
    expect(weightOf(cloud)).toBe(37);
    expect(cloud.callRecords().at(-1)).toMatchObject({
      action: 'SetVServerGroupAttribute',
      write: true,
      status: 0,
      lostAnswer: true,
    });
  });

  it('keeps the answers of reads, and of actions the per-action rates leave out', async () => {
    cloud.setFaults({ lostAnswerActions: { SetVServerGroupAttribute: 0 }, lostAnswerRate: 1 });
    await setWeight(cloud, 55);
    const read = await callSlb(cloud, 'DescribeVServerGroupAttribute', {
      RegionId: MALL.regionId,
      VServerGroupId: MALL.vServerGroup.vServerGroupId,
    });
    expect(read.VServerGroupId).toBe(MALL.vServerGroup.vServerGroupId);
    expect(weightOf(cloud)).toBe(55);
  });

  it('loses reads too when an action is named, and follows the seed', async () => {
    const outcomes = async () => {
      cloud.setFaults({ lostAnswerActions: { DescribeLoadBalancers: 0.5 }, seed: 11 });
      const out: string[] = [];
      for (let i = 0; i < 12; i++)
        out.push(
          await callSlb(cloud, 'DescribeLoadBalancers', { RegionId: MALL.regionId }).then(
            () => 'ok',
            () => 'lost',
          ),
        );
      return out;
    };
    const a = await outcomes();
    expect(await outcomes()).toEqual(a);
    expect(new Set(a)).toEqual(new Set(['ok', 'lost']));
  });

  it.each([
    [{ lostAnswerRate: 1.5 }, 'faults.lostAnswerRate'],
    [
      { lostAnswerActions: { SetVServerGroupAttribute: -1 } },
      'faults.lostAnswerActions.SetVServerGroupAttribute',
    ],
    [{ lostAnswerActions: [] }, 'faults.lostAnswerActions'],
  ])('refuses %j naming the field', async (body, field) => {
    const res = await fetch(`${cloud.url}/_emulator/faults`, {
      method: 'POST',
      headers: JSON_BODY,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(field);
  });
});

describe('call records', () => {
  it('records each call with the emulator time, the signing AccessKeyId and the caller hint', async () => {
    // Prepare: one call per key, the second with an x-slbap-caller header
    // (the emulator checks the signed timestamp against its clock: keep it near real time)
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    now = new Date(t0);
    await callSlb(cloud, 'DescribeLoadBalancers', { RegionId: MALL.regionId });
    now = new Date(t0 + 5000);
    const client = new OpenApi.Client(openApiConfig(cloud, OTHER));
    await client.callApi(
      rpcParams('SetVServerGroupAttribute', '2014-05-15', 'HTTPS'),
      new OpenApi.OpenApiRequest({
        query: OpenApi.query({
          RegionId: MALL.regionId,
          VServerGroupId: MALL.vServerGroup.vServerGroupId,
          BackendServers: JSON.stringify([{ ServerId: MALL.k8s.serverId, Port: MALL.k8s.port, Weight: 10 }]),
        }),
        headers: { 'x-slbap-caller': 'chaos/rotate' },
      }),
      new OpenApi.RuntimeOptions({}),
    );
    await sdkError(callSlb(cloud, 'DescribeVServerGroupAttribute', { RegionId: MALL.regionId }));
    // Act
    const res = await fetch(`${cloud.url}/_emulator/calls`);
    const body = (await res.json()) as { total: number; records: Record<string, unknown>[] };
    // Assess
    expect(body.total).toBe(3);
    expect(body.records).toEqual([
      {
        seq: 1,
        at: new Date(t0).toISOString(),
        product: 'slb',
        action: 'DescribeLoadBalancers',
        write: false,
        caller: 'LTAI5tLocalCloudDefault',
        status: 200,
      },
      {
        seq: 2,
        at: new Date(t0 + 5000).toISOString(),
        product: 'slb',
        action: 'SetVServerGroupAttribute',
        write: true,
        caller: OTHER.accessKeyId,
        callerHint: 'chaos/rotate',
        status: 200,
      },
      expect.objectContaining({ seq: 3, status: 400, code: 'MissingParameter', write: false }),
    ]);
    const since = (await (await fetch(`${cloud.url}/_emulator/calls?since=2`)).json()) as {
      records: { seq: number }[];
    };
    expect(since.records.map((r) => r.seq)).toEqual([3]);
    expect((await fetch(`${cloud.url}/_emulator/calls?since=x`)).status).toBe(400);
  });

  it('does not record calls that fail the signature (no trusted caller)', async () => {
    await sdkError(callSlb(cloud, 'DescribeLoadBalancers', {}, { accessKeySecret: 'wrong' }));
    expect(cloud.callRecords()).toEqual([]);
  });
});

describe('reset to a scenario', () => {
  it('POST /_emulator/reset {"scenario"} restores state, counters, faults and backend addresses', async () => {
    // Prepare: the stack's wiring (in-process), then a run that changes all of it
    cloud.setBackendAddress(K8S, '127.0.0.1:40001');
    await setWeight(cloud, 1);
    cloud.setFaults({ throttleRate: 1 });
    const moved = await fetch(`${cloud.url}/_emulator/backend-addresses`, {
      method: 'POST',
      headers: JSON_BODY,
      body: JSON.stringify({ [K8S]: '127.0.0.1:1', 'i-extra:80': '127.0.0.1:2' }),
    });
    expect(moved.status).toBe(200);
    // Act
    const res = await fetch(`${cloud.url}/_emulator/reset`, {
      method: 'POST',
      headers: JSON_BODY,
      body: JSON.stringify({ scenario: 'mall' }),
    });
    // Assess
    expect(res.status).toBe(200);
    expect(weightOf(cloud)).toBe(MALL.k8s.weight);
    expect(cloud.backendAddresses()).toEqual({ [K8S]: '127.0.0.1:40001' });
    expect(cloud.calls().total).toBe(0);
    expect(cloud.callRecords()).toEqual([]);
    await callSlb(cloud, 'DescribeLoadBalancers', { RegionId: MALL.regionId }); // faults cleared
  });

  it('switches to another named scenario, which later resets return to', async () => {
    const res = await fetch(`${cloud.url}/_emulator/reset`, {
      method: 'POST',
      headers: JSON_BODY,
      body: JSON.stringify({ scenario: 'empty' }),
    });
    expect(res.status).toBe(200);
    expect(cloud.state().loadBalancers).toEqual([]);
    cloud.reset();
    expect(cloud.state().loadBalancers).toEqual([]);
  });

  it.each([
    [{ scenario: 'mars' }, 'reset.scenario: must be one of mall, mall-unprovisioned, empty'],
    [{ scenario: 'mall', keep: true }, 'reset.keep: unknown field'],
    [[], 'reset: body must be a JSON object'],
  ])('refuses %j naming the field, changing nothing', async (body, message) => {
    await setWeight(cloud, 3);
    const res = await fetch(`${cloud.url}/_emulator/reset`, {
      method: 'POST',
      headers: JSON_BODY,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(message);
    expect(weightOf(cloud)).toBe(3);
  });
});
