import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  credentialsFromFcContext,
  resolveCloudTarget,
  staticCredentials,
} from '../../../shared/cloud/credentials';
import { withDryRun } from '../../../shared/cloud/dry-run';
import type { RpcRequest } from '../../../shared/cloud/rpc-types';
import { createSlbClient } from '../../../shared/cloud/slb';
import { list, num, scalarList } from '../../../shared/cloud/slb/wire';

describe('dry run', () => {
  it('records a planned certificate upload without its private key', async () => {
    const dry = withDryRun({
      async call() {
        throw new Error('a write reached the cloud');
      },
    });
    await dry.call({
      product: 'slb',
      action: 'UploadServerCertificate',
      regionId: 'cn-hangzhou',
      params: { ServerCertificate: 'CERT', PrivateKey: '-----BEGIN PRIVATE KEY-----\nsecret' },
      write: true,
    });
    const [planned] = dry.planned();
    expect(planned?.params).toMatchObject({ ServerCertificate: 'CERT', PrivateKey: '[redacted]' });
    expect(JSON.stringify(dry.planned())).not.toContain('secret');
  });

  it('passes reads through and records writes without sending them', async () => {
    const sent: RpcRequest[] = [];
    const inner = {
      async call(r: RpcRequest) {
        sent.push(r);
        return { VServerGroupId: 'rsp-1', BackendServers: { BackendServer: [] } };
      },
    };
    const dry = withDryRun(inner);
    const slb = createSlbClient(dry);
    await slb.describeVServerGroup({ regionId: 'cn-hangzhou', vServerGroupId: 'rsp-1' });
    await slb.setVServerGroupAttribute({
      regionId: 'cn-hangzhou',
      vServerGroupId: 'rsp-1',
      backendServers: [{ serverId: 'i-1', port: 80, weight: 0 }],
    });
    expect(sent.map((r) => r.action)).toEqual(['DescribeVServerGroupAttribute']);
    expect(dry.planned()).toEqual([
      {
        product: 'slb',
        action: 'SetVServerGroupAttribute',
        regionId: 'cn-hangzhou',
        params: {
          VServerGroupId: 'rsp-1',
          BackendServers: '[{"ServerId":"i-1","Port":80,"Weight":0}]',
          VServerGroupName: undefined,
        },
      },
    ]);
  });
});

describe('credentials', () => {
  const key = { accessKeyId: 'STS.abc', accessKeySecret: 'topsecret-value', securityToken: 'token-value' };

  it('never prints a secret or a token', async () => {
    const held = await staticCredentials(key).get();
    for (const text of [
      JSON.stringify(held),
      inspect(held),
      String(held),
      JSON.stringify(staticCredentials(key)),
    ]) {
      expect(text).not.toContain('topsecret-value');
      expect(text).not.toContain('token-value');
    }
    expect(held.accessKeySecret).toBe('topsecret-value');
  });

  it('reads FC context credentials and names what is missing without values', () => {
    expect(() =>
      credentialsFromFcContext({ credentials: { accessKeyId: 'STS.x', accessKeySecret: 'shh' } }),
    ).toThrow(/context.credentials: missing securityToken/);
    expect(() => credentialsFromFcContext({})).toThrow(/accessKeyId, accessKeySecret, securityToken/);
    expect(() => credentialsFromFcContext({ credentials: key })).not.toThrow();
  });

  it('chooses the local cloud when SLB_AUTOPILOT_LOCAL_CLOUD is set', async () => {
    const t = resolveCloudTarget({ SLB_AUTOPILOT_LOCAL_CLOUD: 'http://127.0.0.1:8787' });
    expect(t.kind === 'local' && t.endpoint).toBe('127.0.0.1:8787');
    expect((await t.credentials.get()).accessKeyId).toBe('LTAI5tLocalCloudDefault');
    expect(resolveCloudTarget({}).kind).toBe('cloud');
    expect(() => resolveCloudTarget({ SLB_AUTOPILOT_LOCAL_CLOUD: 'nope' })).toThrow(
      /SLB_AUTOPILOT_LOCAL_CLOUD/,
    );
  });
});

describe('wire readers', () => {
  it('tolerate numbers as strings, plain arrays, single objects and absent wrappers', () => {
    expect([num('100'), num(100), num(''), num('x'), num(undefined)]).toEqual([
      100,
      100,
      undefined,
      undefined,
      undefined,
    ]);
    expect(list({ A: { B: [{ x: 1 }] } }, 'A', 'B')).toEqual([{ x: 1 }]);
    expect(list({ A: [{ x: 1 }] }, 'A', 'B')).toEqual([{ x: 1 }]);
    expect(list({ A: { B: { x: 1 } } }, 'A', 'B')).toEqual([{ x: 1 }]);
    expect(list({}, 'A', 'B')).toEqual([]);
    expect(scalarList({ S: { N: ['a', 'b'] } }, 'S', 'N')).toEqual(['a', 'b']);
  });
});
