// Ownership and the deployment's limits, as pure functions: what counts as ours (this deployment's
// marker tag, and the prefix on what we name), and which specs a deployment refuses over HTTP.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkNewLoadBalancers,
  checkSpecLimits,
  defaultLimits,
  LimitError,
} from '../../../shared/domain/limits';
import {
  DEFAULT_OWNERSHIP,
  findManagedLoadBalancer,
  isOwned,
  markerTags,
  ownershipMarker,
} from '../../../shared/domain/ownership';
import { parseSpec } from '../../../shared/domain/spec';

const mallYaml = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'mall.yaml'), 'utf8');

describe('isOwned', () => {
  const other = ownershipMarker({ deploymentId: 'staging' });
  it.each<[string, { key: string; value: string }[], string | undefined, boolean]>([
    ['this deployment’s tag', [{ key: 'managed-by', value: 'slb-autopilot/default' }], undefined, true],
    [
      'its tag and prefixed name',
      [{ key: 'managed-by', value: 'slb-autopilot/default' }],
      'slbap-mall',
      true,
    ],
    [
      'its tag but a name without the prefix',
      [{ key: 'managed-by', value: 'slb-autopilot/default' }],
      'mall',
      false,
    ],
    ['the prefix alone (anyone can type it)', [], 'slbap-mall', false],
    ['another deployment’s tag', [{ key: 'managed-by', value: 'slb-autopilot/staging' }], undefined, false],
    [
      'the tag of versions before deployment ids',
      [{ key: 'managed-by', value: 'slb-autopilot' }],
      undefined,
      false,
    ],
    ['a team’s own tag', [{ key: 'team', value: 'web' }], undefined, false],
    ['no tags', [], undefined, false],
  ])('%s: %s', (_name, tags, name, owned) => {
    expect(isOwned(DEFAULT_OWNERSHIP, tags, name)).toBe(owned);
  });

  it('another deployment owns what it tagged, and not what the default one did', () => {
    expect(isOwned(other, markerTags(other))).toBe(true);
    expect(isOwned(other, markerTags(DEFAULT_OWNERSHIP))).toBe(false);
    expect(markerTags(DEFAULT_OWNERSHIP)).toEqual([{ key: 'managed-by', value: 'slb-autopilot/default' }]);
  });
});

describe('deployment limits', () => {
  const spec = parseSpec(mallYaml);
  const limits = defaultLimits(spec, {});

  it('default to what the deployed spec itself needs', () => {
    expect(limits).toEqual({
      allowedRegions: ['cn-hangzhou'],
      adoptable: ['lb-bp1mall7k8s0demo0001'],
      maxNewLoadBalancers: 0,
    });
    expect(defaultLimits(spec, { adoptable: ['none'], maxNewLoadBalancers: 2 })).toMatchObject({
      adoptable: [],
      maxNewLoadBalancers: 2,
    });
  });

  it('let the deployed spec through', () => {
    expect(() => checkSpecLimits(spec, limits)).not.toThrow();
    expect(() => checkNewLoadBalancers(0, 5, limits)).not.toThrow();
  });

  it.each<[string, () => void, string, string]>([
    [
      'another region',
      () => checkSpecLimits({ ...spec, region: 'cn-beijing' }, limits),
      'SLB_AUTOPILOT_ALLOWED_REGIONS',
      'region',
    ],
    [
      'an unlisted load balancer',
      () => checkSpecLimits(spec, { ...limits, adoptable: [] }),
      'SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS',
      'loadBalancers[0].id',
    ],
    [
      'one new load balancer over the cap',
      () => checkNewLoadBalancers(1, 2, { ...limits, maxNewLoadBalancers: 2 }),
      'SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS',
      'loadBalancers[].create',
    ],
  ])('refuse %s, naming the limit and the field', (_name, check, limit, field) => {
    const err = (() => {
      try {
        check();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ limit, field });
    expect((err as Error).message).toMatch(new RegExp(`\\(${limit}\\)$`));
  });
});

describe('findManagedLoadBalancer', () => {
  const m = ownershipMarker({ deploymentId: 'prod' });
  const lb = (loadBalancerId: string, loadBalancerName: string, tags = markerTags(m)) => ({
    loadBalancerId,
    loadBalancerName,
    tags,
  });
  const all = [
    lb('lb-adopted', 'someone-elses', []),
    lb('lb-typed', `${m.namePrefix}web`, []),
    lb('lb-other-deployment', `${m.namePrefix}web`, markerTags(ownershipMarker({ deploymentId: 'staging' }))),
    lb('lb-ours', `${m.namePrefix}web`),
  ];

  it.each([
    [{ id: 'lb-adopted', name: 'x' }, 'lb-adopted'],
    [{ name: 'web' }, 'lb-ours'],
    [{ id: undefined, name: 'web' }, 'lb-ours'],
    [{ name: 'shop' }, undefined],
    [{ id: 'lb-gone', name: 'web' }, undefined],
  ])('%o -> %s', (entry, want) => expect(findManagedLoadBalancer(m, all, entry)?.loadBalancerId).toBe(want));

  it('never takes a load balancer of our name that lacks our marker', () => {
    expect(findManagedLoadBalancer(m, all.slice(0, 3), { name: 'web' })).toBeUndefined();
  });
});
