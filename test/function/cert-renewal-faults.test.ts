// Renewal never leaves an unverified certificate served: a failure injected at every step of the mall's
// rotation (each write refused, each handshake throwing or seeing the wrong certificate, the process
// dying after each write, a verification that never answers, a bad verify setting) and, after each
// case, a real handshake against the local cloud's front end must find, for every domain, the original
// certificate or one a handshake verified; a follow-up run settles what was left and leaves no marker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/cert-renewal/index';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { localCloudListenerAddress } from '../../shared/cloud/listener-address';
import type { SlbClient } from '../../shared/cloud/slb';
import {
  fetchServedCertificate,
  type ServedCertificateCheck,
  type WaitForServedCertificateRequest,
  waitForServedCertificate,
} from '../../shared/cloud/tls-probe';
import { normalizeFingerprint } from '../../shared/domain/keys';
import { ROTATION_TAG_PREFIX } from '../../shared/domain/renewal';
import { parseSpec } from '../../shared/domain/spec';
import { type RenewalDeps, type RenewalOptions, runCertRenewal } from '../../shared/workflows/cert-renewal';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { fcContext } from '../support/fc';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const spec = parseSpec(mallYaml);
const DOMAINS = [...MALL.https.domains, MALL.extensionDomain.domain];
const OPTIONS: RenewalOptions = { verifyAttempts: 2, verifyDelayMs: 0 };

let cloud: TestCloud;
/** what each domain served before any rotation (SHA-1, hex) */
let original: Map<string, string>;
beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  original = await servedNow();
});
afterAll(() => cloud.close());
afterEach(() => cloud.reset());

async function servedNow(): Promise<Map<string, string>> {
  const fe = (await cloud.frontEnds()).find((f) => f.listenerPort === 443);
  if (!fe) throw new Error('no front end for 443');
  const out = new Map<string, string>();
  for (const d of DOMAINS)
    out.set(
      d,
      normalizeFingerprint(
        (await fetchServedCertificate({ host: fe.host, port: fe.port, servername: d })).fingerprintSha1,
      ),
    );
  return out;
}

const isWrite = (action: string) => !/^(Describe|List|Get)/.test(action);
const writes = () =>
  Object.entries(cloud.calls().calls)
    .filter(([a]) => isWrite(a))
    .reduce((n, [, k]) => n + k, 0);
const markers = () =>
  (cloud.state().loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId)?.tags ?? []).filter(
    (t) => t.key.startsWith(ROTATION_TAG_PREFIX),
  );

const markersAndOthers = () =>
  cloud.state().loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId)?.tags ?? [];

/** The process is gone: nothing it would still send reaches the cloud. */
class Killed extends Error {
  constructor() {
    super('killed');
    this.name = 'Killed';
  }
}

type Verify = RenewalDeps['verify'];
type Fault = { at: number; mode: 'throw' | 'mismatch' | 'hang' };

/**
 * The real handshake check, recording every certificate a handshake verified per domain; `fault`
 * replaces the at-th call (1-based) with a throw, a mismatch (the served certificate, whatever it is,
 * reported as not the expected one) or no answer at all.
 */
function recordingVerify(verified: Map<string, Set<string>>, fault?: Fault, alive = () => true): Verify {
  let n = 0;
  return async (req: WaitForServedCertificateRequest): Promise<ServedCertificateCheck> => {
    if (!alive()) throw new Killed();
    n++;
    if (fault?.at === n) {
      if (fault.mode === 'throw') throw new Error('injected: verification crashed');
      if (fault.mode === 'hang') return new Promise<never>(() => undefined);
      return { status: 'mismatch', attempts: 1, served: await fetchServedCertificate(req) };
    }
    const check = await waitForServedCertificate(req);
    if (check.status === 'matched') {
      const set = verified.get(req.servername ?? '') ?? new Set<string>();
      set.add(normalizeFingerprint(req.expectFingerprint));
      verified.set(req.servername ?? '', set);
    }
    return check;
  };
}

/** The cloud layer as a process that dies right after its n-th write reached the cloud. */
function dyingAfter(slb: SlbClient, n: number): { slb: SlbClient; alive: () => boolean } {
  let count = 0;
  let dead = false;
  const proxy = new Proxy(slb, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (dead) throw new Killed();
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (!/^(describe|list|get)/.test(String(prop)) && ++count >= n) {
          dead = true;
          throw new Killed();
        }
        return result;
      };
    },
  });
  return { slb: proxy, alive: () => !dead };
}

/**
 * A run that failed or died may leave its writer-lease claim on the load balancer; the run after it
 * comes once that claim expired (`later`), as the next daily run would.
 */
const later = () => new Date(Date.now() + TEST_LEASE.ttlMs + 1000);

function deps(verify: Verify, slb?: SlbClient, now: () => Date = () => new Date()): RenewalDeps {
  const layer = cloudLayerFor(cloud);
  return {
    slb: slb ?? layer.slb,
    cas: layer.cas,
    now,
    env: {},
    readFile: () => '',
    listenerAddress: localCloudListenerAddress(cloud.url),
    verify,
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
  };
}

/** Every domain serves its original certificate or one a handshake verified. */
async function assertServedIsVerifiedOrOriginal(verified: Map<string, Set<string>>, label: string) {
  const served = await servedNow();
  for (const d of DOMAINS) {
    const fp = served.get(d) ?? '';
    const allowed = [original.get(d), ...(verified.get(d) ?? [])];
    expect(allowed, `${label}: ${d} serves ${fp}`).toContain(fp);
  }
}

/** A clean follow-up run settles everything: ok, no marker left, the invariant holds. */
async function followUp(verified: Map<string, Set<string>>, label: string) {
  cloud.setFaults({});
  const again = await runCertRenewal(deps(recordingVerify(verified), undefined, later), spec, OPTIONS);
  expect(again.failed, `${label}: follow-up ${JSON.stringify(again.references)}`).toBe(false);
  expect(markers(), `${label}: markers after the follow-up`).toEqual([]);
  expect(again.markers.every((m) => m.settled)).toBe(true);
  await assertServedIsVerifiedOrOriginal(verified, `${label} (after follow-up)`);
  // Rotated in the end: every domain serves a verified renewal.
  const served = await servedNow();
  for (const d of DOMAINS) expect(served.get(d)).not.toBe(original.get(d));
}

/**
 * An undisturbed rotation of the mall: the writer lease's claim, upload, mark, two binds, unmark, the
 * claim's release; three handshakes (2 + 1 domains).
 */
const WRITES = 7;
const HANDSHAKES = 3;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('cert-renewal under injected failures', () => {
  it('marks the load balancer once before its switches, and removes the markers once verified', async () => {
    const seen: string[][] = [];
    const verified = new Map<string, Set<string>>();
    const inner = recordingVerify(verified);
    const r = await runCertRenewal(
      deps(async (req) => {
        seen.push(markers().map((t) => t.key));
        return inner(req);
      }),
      spec,
      OPTIONS,
    );
    expect(r.failed).toBe(false);
    const de = cloud.state().domainExtensions.find((d) => d.domain === MALL.extensionDomain.domain);
    // Every handshake ran while both references of the load balancer were marked.
    const both = [
      `${ROTATION_TAG_PREFIX}443:from`,
      `${ROTATION_TAG_PREFIX}443:to`,
      `${ROTATION_TAG_PREFIX}${de?.domainExtensionId}:from`,
      `${ROTATION_TAG_PREFIX}${de?.domainExtensionId}:to`,
    ].sort();
    expect(seen.length).toBe(3);
    for (const keys of seen) expect([...keys].sort()).toEqual(both);
    expect(markers()).toEqual([]);
    // One marker write and one removal for the load balancer's two switches (and the lease's claim and release).
    expect(cloud.calls().calls.TagResources).toBe(2);
    expect(cloud.calls().calls.UntagResources).toBe(2);
    await assertServedIsVerifiedOrOriginal(verified, 'clean');
  });

  it.each([
    [15, 'switches in batches that fit the tags left on the load balancer', 2],
    [17, 'switches nothing when no room is left for the marker', 0],
  ])('with %i tags on the load balancer: %s', async (count, _what, batches) => {
    const layer = cloudLayerFor(cloud);
    await layer.slb.tagResources({
      regionId: MALL.regionId,
      resourceType: 'instance',
      resourceIds: [MALL.loadBalancerId],
      tags: Array.from({ length: count - markersAndOthers().length }, (_, i) => ({
        key: `team-${i}`,
        value: 'x',
      })),
    });
    const tagCalls = cloud.calls().calls.TagResources ?? 0;
    const before = cloud.state().listeners.find((l) => l.listenerPort === 443)?.serverCertificateId;
    const verified = new Map<string, Set<string>>();
    const r = await runCertRenewal(deps(recordingVerify(verified)), spec, OPTIONS);
    // Each batch's marker, and the writer lease's claim.
    expect((cloud.calls().calls.TagResources ?? 0) - tagCalls).toBe(batches + 1);
    if (batches === 0) {
      expect(r.references.map((x) => [x.action, x.error])).toEqual([
        ['failed', `no room for the rotation marker on ${MALL.loadBalancerId} (20 tags at most)`],
        ['failed', `no room for the rotation marker on ${MALL.loadBalancerId} (20 tags at most)`],
      ]);
      expect(cloud.state().listeners.find((l) => l.listenerPort === 443)?.serverCertificateId).toBe(before);
    } else expect(r.references.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    expect(markers()).toEqual([]);
    await assertServedIsVerifiedOrOriginal(verified, `${count} tags`);
  });

  it('an undisturbed rotation makes the writes and handshakes the cases below step through', async () => {
    let handshakes = 0;
    const verified = new Map<string, Set<string>>();
    const inner = recordingVerify(verified);
    const r = await runCertRenewal(
      deps((req) => {
        handshakes++;
        return inner(req);
      }),
      spec,
      OPTIONS,
    );
    expect(r.references.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    expect(writes()).toBe(WRITES);
    expect(handshakes).toBe(HANDSHAKES);
  });

  it.each(range(0, WRITES - 1))(
    'writes refused after the first %i: served is verified or original, then settled',
    async (n) => {
      const label = `writes fail after ${n}`;
      const verified = new Map<string, Set<string>>();
      cloud.setFaults({ failWritesAfter: n });
      const r = await runCertRenewal(deps(recordingVerify(verified)), spec, OPTIONS);
      // Refused at the markers' removal the rotation itself is done: a warning. Refused only at the
      // lease's release (the last write), it is done too; the claim expires on its own.
      if (n < WRITES - 1)
        expect(r.failed || r.warnings.some((w) => w.message.includes('marker')), label).toBe(true);
      else
        expect(
          r.references.map((x) => x.action),
          label,
        ).toEqual(['rotated', 'rotated']);
      await assertServedIsVerifiedOrOriginal(verified, label);
      await followUp(verified, label);
    },
  );

  // The clean run's handshakes, then the ones of the rollbacks that follow a failure.
  it.each(range(1, HANDSHAKES + 3).flatMap((at) => [[at, 'throw'] as const, [at, 'mismatch'] as const]))(
    'handshake %i: %s; served is verified or original, then settled',
    async (at, mode) => {
      const label = `handshake ${at} ${mode}`;
      const verified = new Map<string, Set<string>>();
      const r = await runCertRenewal(deps(recordingVerify(verified, { at, mode })), spec, OPTIONS);
      if (at <= HANDSHAKES) expect(r.failed, label).toBe(true);
      await assertServedIsVerifiedOrOriginal(verified, label);
      for (const ref of r.references.filter((x) => x.action === 'rolledBack'))
        expect(ref.failure?.phase, label).toBe('verify');
      await followUp(verified, label);
    },
  );

  it.each(range(1, WRITES))(
    'the process dies after write %i; the next run finishes what it left',
    async (n) => {
      const label = `killed after write ${n}`;
      const verified = new Map<string, Set<string>>();
      const dying = dyingAfter(cloudLayerFor(cloud).slb, n);
      await runCertRenewal(
        deps(recordingVerify(verified, undefined, dying.alive), dying.slb),
        spec,
        OPTIONS,
      ).then(
        () => undefined,
        (err: unknown) => expect(err, label).toBeInstanceOf(Killed),
      );
      expect(dying.alive(), label).toBe(false);
      // What the dead run left may be unverified; the next run must settle it first.
      const again = await runCertRenewal(deps(recordingVerify(verified), undefined, later), spec, OPTIONS);
      expect(again.failed, `${label}: ${JSON.stringify(again)}`).toBe(false);
      expect(markers(), label).toEqual([]);
      await assertServedIsVerifiedOrOriginal(verified, label);
      const served = await servedNow();
      for (const d of DOMAINS) expect(served.get(d), label).not.toBe(original.get(d));
    },
  );

  it('finishes the switches a dead run left: the bound one verified, the unbound one checked, markers removed', async () => {
    // Killed right after the listener's bind (claim, upload, mark, bind); the extension domain was marked only.
    const dying = dyingAfter(cloudLayerFor(cloud).slb, 4);
    const verified = new Map<string, Set<string>>();
    const before = cloud.state();
    await runCertRenewal(
      deps(recordingVerify(verified, undefined, dying.alive), dying.slb),
      spec,
      OPTIONS,
    ).catch(() => undefined);
    const bound = cloud.state().listeners.find((l) => l.listenerPort === 443)?.serverCertificateId;
    const oldMobile = before.domainExtensions.find((d) => d.domain === MALL.extensionDomain.domain);
    expect(bound).not.toBe(before.listeners.find((l) => l.listenerPort === 443)?.serverCertificateId);
    const left = new Map(markers().map((t) => [t.key, t.value]));
    expect(left.get(`${ROTATION_TAG_PREFIX}443:to`)).toMatch(new RegExp(`^id=${bound};at=\\d+$`));
    expect(left.get(`${ROTATION_TAG_PREFIX}${oldMobile?.domainExtensionId}:from`)).toMatch(
      new RegExp(`^id=${oldMobile?.serverCertificateId};at=\\d+$`),
    );
    // Within SLB's tag limits: key 64, value 128 characters.
    for (const [k, v] of left) {
      expect(k.length).toBeLessThanOrEqual(64);
      expect(v.length).toBeLessThanOrEqual(128);
    }
    const again = await runCertRenewal(deps(recordingVerify(verified), undefined, later), spec, OPTIONS);
    expect(again.markers).toEqual([
      expect.objectContaining({
        reference: `${MALL.loadBalancerId}:443`,
        to: bound,
        outcome: 'verified',
        settled: true,
      }),
      expect.objectContaining({
        reference: `${MALL.loadBalancerId}:443/${MALL.extensionDomain.domain}`,
        from: oldMobile?.serverCertificateId,
        outcome: 'previousVerified',
        settled: true,
      }),
    ]);
    expect(markers()).toEqual([]);
    // The listener was verified and kept; the extension domain rotated in this run.
    expect(again.references.map((x) => x.action)).toEqual(['notDue', 'rotated']);
  });

  it('a dry run reports the markers a dead run left and changes nothing', async () => {
    const dying = dyingAfter(cloudLayerFor(cloud).slb, 4);
    await runCertRenewal(
      deps(recordingVerify(new Map(), undefined, dying.alive), dying.slb),
      spec,
      OPTIONS,
    ).catch(() => undefined);
    const before = cloud.state();
    const writesBefore = writes();
    const r = await runCertRenewal(deps(recordingVerify(new Map()), undefined, later), spec, {
      ...OPTIONS,
      dryRun: true,
    });
    expect(r.markers.map((m) => [m.outcome, m.settled])).toEqual([
      ['wouldSettle', false],
      ['wouldSettle', false],
    ]);
    expect(writes()).toBe(writesBefore);
    expect(cloud.state()).toEqual(before);
  });

  it('rolls back a switch a dead run left when what it bound does not verify', async () => {
    // The front end keeps serving the old certificate whatever is bound (a failed propagation).
    cloud.setFaults({ staleFrontEnds: [`${MALL.loadBalancerId}:443`] });
    const dying = dyingAfter(cloudLayerFor(cloud).slb, 4);
    const before = cloud.state().listeners.find((l) => l.listenerPort === 443)?.serverCertificateId;
    await runCertRenewal(
      deps(recordingVerify(new Map(), undefined, dying.alive), dying.slb),
      spec,
      OPTIONS,
    ).catch(() => undefined);
    expect(cloud.state().listeners.find((l) => l.listenerPort === 443)?.serverCertificateId).not.toBe(before);
    const verified = new Map<string, Set<string>>();
    const again = await runCertRenewal(deps(recordingVerify(verified), undefined, later), spec, OPTIONS);
    expect(again.markers[0]).toMatchObject({ outcome: 'rolledBack', settled: true, from: before });
    expect(cloud.state().listeners.find((l) => l.listenerPort === 443)?.serverCertificateId).toBe(before);
    await assertServedIsVerifiedOrOriginal(verified, 'stale after death');
    await followUp(verified, 'stale after death');
  });

  it('rolls back a verification that never answers, within its bound', async () => {
    const verified = new Map<string, Set<string>>();
    const r = await runCertRenewal(deps(recordingVerify(verified, { at: 1, mode: 'hang' })), spec, {
      ...OPTIONS,
      verifyTimeoutMs: 200,
    });
    expect(r.references[0]).toMatchObject({
      action: 'rolledBack',
      failure: { phase: 'verify', cause: { name: 'VerificationTimeoutError' } },
    });
    await assertServedIsVerifiedOrOriginal(verified, 'hang');
    await followUp(verified, 'hang');
  });

  it('a verification that throws (verify attempts NaN) binds the previous certificate again', async () => {
    const verified = new Map<string, Set<string>>();
    const r = await runCertRenewal(deps(recordingVerify(verified)), spec, {
      ...OPTIONS,
      verifyAttempts: Number.NaN,
    });
    expect(r.failed).toBe(true);
    expect(r.references[0]?.failure).toMatchObject({
      phase: 'verify',
      cause: { message: expect.stringContaining('attempts') },
    });
    await assertServedIsVerifiedOrOriginal(verified, 'NaN attempts');
    await followUp(verified, 'NaN attempts');
  });

  it('SLB_AUTOPILOT_VERIFY_ATTEMPTS=abc never leaves an unverified certificate served', async () => {
    const saved = { ...process.env };
    try {
      process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
      process.env.SLB_AUTOPILOT_SPEC = mallYaml;
      process.env.SLB_AUTOPILOT_VERIFY_ATTEMPTS = 'abc';
      process.env.SLB_AUTOPILOT_VERIFY_DELAY_MS = '0';
      const r = await handler(Buffer.from('{"source":"timer"}'), fcContext('cert-renewal')).catch(
        (err: unknown) => ({ ok: false, error: String(err) }),
      );
      expect(r.ok).toBe(false);
      // No handshake verified anything: every domain must still serve its original certificate.
      await assertServedIsVerifiedOrOriginal(new Map(), 'abc');
      process.env.SLB_AUTOPILOT_VERIFY_ATTEMPTS = '2';
      await followUp(new Map(), 'abc');
    } finally {
      process.env = saved;
    }
  });
});
