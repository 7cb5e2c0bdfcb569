// Spec caps, in line with CLB quotas: one over each limit is refused naming the field and the limit;
// exactly at the limit is accepted.
import { describe, expect, it } from 'vitest';
import { parseSpec, SPEC_LIMITS, SpecError } from '../../../shared/domain/spec';

const backend = (i: number) => ({ serverId: `i-b${i}`, port: 80, weight: 100 });
const httpListener = (port: number) => ({ protocol: 'http', port, vServerGroup: 'web' });
const rule = (i: number) => ({ name: `r${i}`, url: `/p${i}`, vServerGroup: 'web' });
const ext = (i: number) => ({ domain: `d${i}.example.com`, certificate: { serverCertificateId: 'c-1' } });
const lb = (i: number, o: Record<string, unknown> = {}) => ({
  name: `lb${i}`,
  id: `lb-x${i}`,
  vServerGroups: [{ name: 'web', backends: [backend(0)] }],
  listeners: [httpListener(80)],
  ...o,
});
const spec = (loadBalancers: unknown[]) =>
  JSON.stringify({ version: 1, region: 'cn-hangzhou', loadBalancers });
const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

const cases: [string, number, (n: number) => string, string, RegExp][] = [
  [
    'load balancers',
    SPEC_LIMITS.loadBalancers,
    (n) => spec(range(n, (i) => lb(i))),
    'loadBalancers',
    /at most 1000 load balancers/,
  ],
  [
    'listeners',
    SPEC_LIMITS.listenersPerLoadBalancer,
    (n) => spec([lb(0, { listeners: range(n, (i) => httpListener(1000 + i)) })]),
    'loadBalancers[0].listeners',
    /at most 50 listeners per load balancer/,
  ],
  [
    'VServer groups',
    SPEC_LIMITS.vServerGroupsPerLoadBalancer,
    (n) => spec([lb(0, { vServerGroups: [{ name: 'web' }, ...range(n - 1, (i) => ({ name: `g${i}` }))] })]),
    'loadBalancers[0].vServerGroups',
    /at most 50 VServer groups/,
  ],
  [
    'backends',
    SPEC_LIMITS.backendsPerGroup,
    (n) => spec([lb(0, { vServerGroups: [{ name: 'web', backends: range(n, backend) }] })]),
    'loadBalancers[0].vServerGroups[0].backends',
    /at most 200 backends per VServer group/,
  ],
  [
    'rules',
    SPEC_LIMITS.rulesPerListener,
    (n) => spec([lb(0, { listeners: [{ ...httpListener(80), rules: range(n, rule) }] })]),
    'loadBalancers[0].listeners[0].rules',
    /at most 40 forwarding rules per listener/,
  ],
  [
    'extension domains',
    SPEC_LIMITS.extensionDomainsPerListener,
    (n) =>
      spec([
        lb(0, {
          listeners: [
            {
              protocol: 'https',
              port: 443,
              vServerGroup: 'web',
              domains: ['example.com'],
              certificate: { serverCertificateId: 'c-1' },
              extensionDomains: range(n, ext),
            },
          ],
        }),
      ]),
    'loadBalancers[0].listeners[0].extensionDomains',
    /at most 3 extension domains per HTTPS listener/,
  ],
];

describe('spec limits', () => {
  it.each(cases)(
    '%s: %i accepted, one more refused naming the field',
    (_what, limit, build, path, message) => {
      expect(() => parseSpec(build(limit), { format: 'json' })).not.toThrow();
      let err: SpecError | undefined;
      try {
        parseSpec(build(limit + 1), { format: 'json' });
      } catch (e) {
        err = e as SpecError;
      }
      expect(err).toBeInstanceOf(SpecError);
      expect(err?.issues).toContainEqual({ path, message: expect.stringMatching(message) });
    },
  );
});
