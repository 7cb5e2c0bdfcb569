// The chaos suite in `npm test`: a small fixed-seed run that must find no violation, and the harness's
// own parts proven able to fail: each invariant flags the state it exists for, the kill switch lets the
// k-th write reach the cloud and nothing after it, a seed replays the same steps.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BindEvent, killSwitch, ProcessKilled } from '../../scripts/chaos/actors';
import {
  checkCertificatesBound,
  checkHealthyCarriesWeight,
  checkNoOwnedDuplicates,
  checkRenewalBindsVerified,
  checkServedIsBound,
  checkUnownedUnchanged,
} from '../../scripts/chaos/invariants';
import { Prng } from '../../scripts/chaos/prng';
import { runChaos } from '../../scripts/chaos/run';
import { specOf } from '../../scripts/chaos/specs';
import { describeStep, drawSteps } from '../../scripts/chaos/steps';
import { BACKENDS, startWorld, UNOWNED, type World } from '../../scripts/chaos/world';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';

/** The fixed seed of the run in `npm test`; `npm run chaos -- --runs 1000` is the big one. */
const SEED = 12;
const RUNS = 6;

describe('chaos: fixed-seed run', () => {
  it(`finds no violation in ${RUNS} runs from seed ${SEED}`, async () => {
    const { summary, failing } = await runChaos({ runs: RUNS, seed: SEED });
    // the failing runs, with their steps, are the assertion's message
    expect(failing.map((f) => ({ seed: f.seed, violations: f.violations, steps: f.steps }))).toEqual([]);
    expect(summary).toMatchObject({ runs: RUNS, seed: SEED, violations: 0, failingSeeds: [] });
  }, 180_000);
});

describe('chaos: the harness', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  }, 60_000);
  afterAll(() => world?.close());
  beforeEach(() => world.reset());

  const rpc = (actor: 'hand' | 'checker' = 'hand') => world.client(actor).rpc;
  const slbCall = (action: string, params: Record<string, string | number>) =>
    rpc().call({
      product: 'slb',
      action,
      regionId: MALL.regionId,
      params,
      write: !action.startsWith('Describe'),
    });

  it('replays the same steps for a seed', () => {
    const a = drawSteps(new Prng(42), 12).map(describeStep);
    expect(drawSteps(new Prng(42), 12).map(describeStep)).toEqual(a);
    expect(drawSteps(new Prng(43), 12).map(describeStep)).not.toEqual(a);
  });

  it('kill switch: the k-th write reaches the cloud, then nothing does', async () => {
    const kill = killSwitch(2);
    const killed = world.client('hand', kill.wrap).rpc;
    const setWeight = (w: number) =>
      killed.call({
        product: 'slb',
        action: 'SetVServerGroupAttribute',
        regionId: MALL.regionId,
        params: {
          VServerGroupId: MALL.vServerGroup.vServerGroupId,
          BackendServers: JSON.stringify([{ ServerId: MALL.k8s.serverId, Port: MALL.k8s.port, Weight: w }]),
        },
        write: true,
      });
    await setWeight(11);
    await expect(setWeight(22)).rejects.toBeInstanceOf(ProcessKilled);
    await expect(setWeight(33)).rejects.toBeInstanceOf(ProcessKilled);
    const weight = world.cloud
      .state()
      .vServerGroups.find((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId)
      ?.backendServers.find((b) => b.serverId === MALL.k8s.serverId)?.weight;
    expect(weight).toBe(22);
    expect(world.cloud.callRecords().filter((r) => r.action === 'SetVServerGroupAttribute')).toHaveLength(2);
  });

  it('a clean baseline violates nothing', async () => {
    const state = world.cloud.state();
    expect([
      ...checkCertificatesBound(state, Date.now()),
      ...(await checkServedIsBound(world.cloud)),
      ...checkHealthyCarriesWeight(state, specOf('mall')),
      ...checkUnownedUnchanged(state, world.baseline),
      ...checkNoOwnedDuplicates(state),
    ]).toEqual([]);
  });

  it('certificateBound: flags a reference whose certificate has expired', () => {
    const in40Days = Date.now() + 40 * 86_400_000; // the mall's certificates expire in 10
    const v = checkCertificatesBound(world.cloud.state(), in40Days);
    expect(v.map((x) => x.detail.split(':').slice(0, 2).join(':'))).toEqual(
      expect.arrayContaining([`${MALL.loadBalancerId}:443`, `${MALL.loadBalancerId}:443/m.mall.example.com`]),
    );
  });

  it('servedIsBound: flags a front end that still serves the previous certificate', async () => {
    world.cloud.setFaults({ staleFrontEnds: true });
    await slbCall('SetDomainExtensionAttribute', {
      DomainExtensionId: MALL.extensionDomain.domainExtensionId,
      ServerCertificateId: world.cloud.state().listeners.find((l) => l.listenerPort === 443)
        ?.serverCertificateId as string,
    });
    const v = await checkServedIsBound(world.cloud);
    expect(v).toEqual([
      expect.objectContaining({
        invariant: 'servedIsBound',
        detail: expect.stringContaining(`${MALL.loadBalancerId}:443/m.mall.example.com: serves`),
      }),
    ]);
  });

  it('healthyCarriesWeight: flags weight left on dead backends while a healthy one has none', () => {
    world.setBackendUp('k8s', false);
    world.setBackendUp('hand', false);
    const state = world.cloud.state();
    expect(checkHealthyCarriesWeight(state, specOf('mall'))).toEqual([
      expect.objectContaining({ invariant: 'healthyCarriesWeight' }),
    ]);
    world.setBackendUp('hand', true); // a healthy hand-made member with weight serves the traffic
    expect(checkHealthyCarriesWeight(world.cloud.state(), specOf('mall'))).toEqual([]);
  });

  it('unownedUnchanged: flags a changed weight of a backend added by hand, and a deleted listener', async () => {
    await slbCall('SetVServerGroupAttribute', {
      VServerGroupId: MALL.vServerGroup.vServerGroupId,
      BackendServers: JSON.stringify([{ ServerId: MALL.ecs.serverId, Port: 9090, Weight: 0 }]),
    });
    await slbCall('DeleteLoadBalancerListener', {
      LoadBalancerId: MALL.loadBalancerId,
      ListenerPort: UNOWNED.httpListenerPort,
    });
    const v = checkUnownedUnchanged(world.cloud.state(), world.baseline);
    expect(v.map((x) => x.detail.split(':')[0])).toEqual(['listeners', 'handBackendInAdoptedGroup']);
  });

  it('noOwnedDuplicates: flags two owned certificates with one fingerprint', async () => {
    const hand = world.cloud
      .state()
      .serverCertificates.find((c) => c.serverCertificateName === UNOWNED.certificateName);
    expect(hand).toBeDefined();
    for (const name of ['slbap-web-1', 'slbap-web-2'])
      await slbCall('UploadServerCertificate', {
        ServerCertificate: hand?.certificatePem as string,
        PrivateKey: hand?.privateKeyPem as string,
        ServerCertificateName: name,
      });
    expect(checkNoOwnedDuplicates(world.cloud.state())).toEqual([
      expect.objectContaining({
        invariant: 'noOwnedDuplicates',
        detail: expect.stringContaining(hand?.fingerprint as string),
      }),
    ]);
  });

  it('renewalBindsVerified: flags a certificate renewal bound and nobody saw served', async () => {
    const state = world.cloud.state();
    const bound = state.listeners.find((l) => l.listenerPort === 443)?.serverCertificateId as string;
    const fe = (await world.cloud.frontEnds()).find((f) => f.listenerPort === 443);
    const fingerprint = state.serverCertificates
      .find((c) => c.serverCertificateId === bound)
      ?.fingerprint.replace(/:/g, '') as string;
    const bind: BindEvent = {
      seq: 1,
      actor: 'renewal',
      reference: `${MALL.loadBalancerId}:443`,
      serverCertificateId: bound,
    };
    expect(
      checkRenewalBindsVerified(state, await world.cloud.frontEnds(), { binds: [bind], verified: [] }),
    ).toEqual([expect.objectContaining({ invariant: 'renewalBindsVerified' })]);
    const verified = [{ seq: 2, frontEnd: `${fe?.host}:${fe?.port}`, fingerprint }];
    expect(
      checkRenewalBindsVerified(state, await world.cloud.frontEnds(), { binds: [bind], verified }),
    ).toEqual([]);
    // a bind apply made (a new listener's certificate) is not the renewal's to verify
    expect(
      checkRenewalBindsVerified(state, await world.cloud.frontEnds(), {
        binds: [{ ...bind, actor: 'apply' }],
        verified: [],
      }),
    ).toEqual([]);
  });

  it('seeds the hand-made resources beside the mall', () => {
    const s = world.baseline;
    expect(s.vServerGroups.find((g) => g.vServerGroupName === UNOWNED.groupName)?.tags).toEqual([
      { key: 'team', value: 'web' },
    ]);
    expect(s.listeners.map((l) => l.listenerPort).sort((a, b) => a - b)).toEqual([80, 443, 8081, 8443]);
    expect(
      s.vServerGroups
        .find((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId)
        ?.backendServers.map((b) => `${b.serverId}:${b.port}`),
    ).toEqual([BACKENDS.k8s, BACKENDS.ecs, BACKENDS.hand]);
  });
});
