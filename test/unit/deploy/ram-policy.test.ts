// deploy/ram-policy.json lists exactly the actions the functions use: every SLB and CAS client method the
// workflows and functions call is run against a recording caller, and the actions it sends must be the
// policy's, no more and no fewer. FC: only InvokeFunction, only on the failover function.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCasClient } from '../../../shared/cloud/cas';
import type { RpcCaller, RpcRequest } from '../../../shared/cloud/rpc-types';
import { createSlbClient } from '../../../shared/cloud/slb';

const root = join(__dirname, '..', '..', '..');
const policy = JSON.parse(readFileSync(join(root, 'deploy', 'ram-policy.json'), 'utf8')) as {
  Version: string;
  Statement: { Effect: string; Action: string[]; Resource: string | string[] }[];
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The client methods the deployed code calls. */
function methodsUsed(client: 'slb' | 'cas', known: object): string[] {
  const text = [...sources(join(root, 'shared', 'workflows')), ...sources(join(root, 'functions'))]
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const found = new Set<string>();
  for (const m of text.matchAll(new RegExp(`\\b${client}\\s*\\.\\s*([a-zA-Z]+)\\(`, 'g')))
    if (m[1] && m[1] in known) found.add(m[1]);
  return [...found].sort();
}

/** Calls a method with generic arguments and records the actions it sends (answers are empty). */
async function actionsOf(client: Record<string, unknown>, method: string): Promise<void> {
  const fn = client[method] as (req: unknown) => Promise<unknown>;
  const req = {
    regionId: 'cn-hangzhou',
    loadBalancerId: 'lb-1',
    loadBalancerIds: ['lb-1'],
    loadBalancerName: 'x',
    vServerGroupId: 'rsp-1',
    vServerGroupName: 'g',
    listenerPort: 443,
    serverCertificateId: 'c-1',
    domainExtensionId: 'de-1',
    domain: 'a.example.com',
    ruleId: 'rule-1',
    rules: [{ ruleName: 'r', vServerGroupId: 'rsp-1' }],
    backendServers: [{ serverId: 'i-1', port: 80, weight: 1 }],
    resourceType: 'vservergroup',
    resourceIds: ['rsp-1'],
    tags: [{ key: 'k', value: 'v' }],
    tagKeys: ['k'],
    pem: { certificate: 'C', privateKey: 'K' },
  };
  await fn(method === 'getCertificate' ? 1 : req).catch(() => undefined);
}

describe('RAM policy', () => {
  it('lists exactly the SLB, CAS and FC actions the functions use', async () => {
    const sent: RpcRequest[] = [];
    const recorder: RpcCaller = {
      async call(r) {
        sent.push(r);
        return {};
      },
    };
    const slb = createSlbClient(recorder) as unknown as Record<string, unknown>;
    const cas = createCasClient(recorder) as unknown as Record<string, unknown>;
    for (const m of methodsUsed('slb', slb)) await actionsOf(slb, m);
    for (const m of methodsUsed('cas', cas)) await actionsOf(cas, m);
    const used = new Set(sent.map((r) => `${r.product === 'cas' ? 'yundun-cert' : 'slb'}:${r.action}`));
    used.add('fc:InvokeFunction');
    const listed = policy.Statement.flatMap((s) => s.Action);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...used].sort());
  });

  it('allows InvokeFunction only on the failover function, and nothing but Allow', () => {
    const fc = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith('fc:')));
    expect(fc).toEqual([
      {
        Effect: 'Allow',
        Action: ['fc:InvokeFunction'],
        Resource: ['acs:fc:*:*:functions/slb-autopilot-failover'],
      },
    ]);
    expect(policy.Version).toBe('1');
    expect(policy.Statement.every((s) => s.Effect === 'Allow')).toBe(true);
  });
});
