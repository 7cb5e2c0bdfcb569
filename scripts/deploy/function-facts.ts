// What each function's deployed code can do, read from its bundle rather than written by hand: the
// cloud actions it sends (its RAM policy), whether it reaches a network probe (it needs the VPC), whether
// it sends notifications (it needs the notification secrets) and which SLB_AUTOPILOT_* variables it
// reads. The bundle is built as scripts/build.ts builds it, unminified, so esbuild's tree shaking has
// already dropped the code the function cannot reach.
//
// `npm run deploy -- --policies` writes deploy/ram-policy.<function>.json from these facts;
// test/unit/deploy compares the committed files and s.yaml against them.

import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { createCasClient } from '../../shared/cloud/cas';
import { createDnsClient } from '../../shared/cloud/dns';
import type { Product, RpcCaller, RpcRequest } from '../../shared/cloud/rpc-types';
import { createSlbClient } from '../../shared/cloud/slb';

export interface FunctionFacts {
  name: string;
  /** repository files with code in the bundle */
  sources: string[];
  /** RAM actions, sorted: `slb:…`, `yundun-cert:…` (CAS's RAM namespace), `alidns:…`, `fc:InvokeFunction` */
  actions: string[];
  /** the bundle holds the HTTP/TCP probe or the TLS probe: it connects to private addresses */
  reachesProbe: boolean;
  /** the bundle sends notifications (webhook, DingTalk) */
  notifies: boolean;
  /** SLB_AUTOPILOT_* variables the code reads by name, sorted */
  variables: string[];
}

export interface RamPolicy {
  Version: '1';
  Statement: { Effect: 'Allow'; Action: string[]; Resource: string | string[] }[];
}

const PROBES = ['shared/cloud/probe.ts', 'shared/cloud/tls-probe.ts'];
const FC_INVOKER = 'shared/cloud/fc-invoker.ts';
/** Each product's RAM namespace (CAS's is `yundun-cert`, not `cas`). */
const RAM_NAMESPACE: Record<Product, string> = { slb: 'slb', cas: 'yundun-cert', alidns: 'alidns' };

/** The only function another one invokes (health-audit hands failover work to it). */
export const INVOKED_FUNCTION = 'slb-autopilot-failover';

/** The bundle's code and the repository files in it, as scripts/build.ts bundles them. */
async function bundle(root: string, name: string): Promise<{ code: string; sources: string[] }> {
  const result = await build({
    entryPoints: [join(root, 'functions', name, 'index.ts')],
    absWorkingDir: root,
    outfile: join(root, 'dist', name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: false,
    legalComments: 'none',
    logLevel: 'silent',
    external: ['proxy-agent'],
    metafile: true,
    write: false,
  });
  const [out] = Object.values(result.metafile.outputs);
  const sources = Object.entries(out?.inputs ?? {})
    .filter(([path, i]) => i.bytesInOutput > 0 && !path.includes('node_modules/'))
    .map(([path]) => relative(root, join(root, path)))
    .sort();
  return { code: result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '', sources };
}

/** Calls a client method with generic arguments and records the actions it sends (answers are empty). */
async function record(client: Record<string, unknown>, method: string): Promise<void> {
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
    ruleIds: ['rule-1'],
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

/** The client methods called in the code (`slb.x(`, `deps.slb.x(`, esbuild's renamed `slb2.x(`). */
function called(code: string, client: string, known: object): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(new RegExp(`\\b${client}\\d*\\s*\\.\\s*([a-zA-Z]+)\\(`, 'g')))
    if (m[1] && m[1] in known) found.add(m[1]);
  return [...found].sort();
}

export async function functionFacts(root: string, name: string): Promise<FunctionFacts> {
  const { code, sources } = await bundle(root, name);
  const sent: RpcRequest[] = [];
  const recorder: RpcCaller = {
    async call(r) {
      sent.push(r);
      return {};
    },
  };
  const clients = {
    slb: createSlbClient(recorder),
    cas: createCasClient(recorder),
    dns: createDnsClient(recorder),
  } as unknown as Record<string, Record<string, unknown>>;
  for (const [name, client] of Object.entries(clients))
    for (const m of called(code, name, client)) await record(client, m);
  const actions = new Set(sent.map((r) => `${RAM_NAMESPACE[r.product]}:${r.action}`));
  if (sources.includes(FC_INVOKER)) actions.add('fc:InvokeFunction');
  const variables = new Set<string>();
  for (const m of code.matchAll(/(?:\.|\[["'])(SLB_AUTOPILOT_[A-Z0-9_]+)\b/g)) if (m[1]) variables.add(m[1]);
  return {
    name,
    sources,
    actions: [...actions].sort(),
    reachesProbe: PROBES.some((p) => sources.includes(p)),
    notifies: /\bnotifier\d*\s*\.\s*send\(/.test(code),
    variables: [...variables].sort(),
  };
}

/** The least-privilege policy for these facts: SLB reads, SLB writes, CAS and DNS, and FC on the failover function only. */
export function policyFor(facts: FunctionFacts): RamPolicy {
  const slb = facts.actions.filter((a) => a.startsWith('slb:'));
  const reads = slb.filter((a) => /^slb:(Describe|List)/.test(a));
  const writes = slb.filter((a) => !reads.includes(a));
  const services = facts.actions.filter((a) => a.startsWith('yundun-cert:') || a.startsWith('alidns:'));
  const statements: RamPolicy['Statement'] = [];
  if (reads.length) statements.push({ Effect: 'Allow', Action: reads, Resource: '*' });
  if (writes.length) statements.push({ Effect: 'Allow', Action: writes, Resource: '*' });
  if (services.length) statements.push({ Effect: 'Allow', Action: services, Resource: '*' });
  if (facts.actions.includes('fc:InvokeFunction'))
    statements.push({
      Effect: 'Allow',
      Action: ['fc:InvokeFunction'],
      Resource: [`acs:fc:*:*:functions/${INVOKED_FUNCTION}`],
    });
  return { Version: '1', Statement: statements };
}

export const policyPath = (root: string, name: string) => join(root, 'deploy', `ram-policy.${name}.json`);
