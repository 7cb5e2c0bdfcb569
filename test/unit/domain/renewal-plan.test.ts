// Renewal's decisions as tables: due-ness (the CA's ARI window wins when offered), what a due reference
// gets, the replacement rule, the rate-limit tags, batching by free tag room, which markers to finish and
// how, and what may be deleted.
import { describe, expect, it } from 'vitest';
import { ACME_ARI_ID_TAG, ACME_RETRY_AFTER_TAG } from '../../../shared/domain/acme-renewal';
import { DEFAULT_OWNERSHIP, markerTags } from '../../../shared/domain/ownership';
import { rotationMarkerTags } from '../../../shared/domain/renewal';
import {
  ariIdToAsk,
  batchByTagRoom,
  decideReference,
  dueness,
  handshakeNames,
  markerRoom,
  NOT_SETTLED_REASON,
  planDeletions,
  planMarkers,
  planRetryAfterTags,
  planSwitchBatches,
  quotaWarning,
  REPLACED_AT_TAG,
  referencedCertificates,
  replacementVerdict,
} from '../../../shared/domain/renewal-plan';

const DAY = 86_400_000;
const NOW = new Date('2026-11-24T00:00:00Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY);
const tags = (n: number, extra: { key: string; value: string }[] = []) => [
  ...Array.from({ length: n }, (_, i) => ({ key: `team-${i}`, value: 'x' })),
  ...extra,
];
const retryTag = (d: Date) => ({ key: ACME_RETRY_AFTER_TAG, value: String(d.getTime() / 1000) });

describe('dueness', () => {
  it.each([
    ['our rule: inside the window', undefined, true, /expires in 10 days \(window 30\)/],
    ['the ARI window has opened: due', { start: at(-1), end: at(5) }, true, /renewal window opened/],
    [
      'the ARI window is later: not due, whatever our rule says',
      { start: at(3), end: at(6) },
      false,
      /suggests/,
    ],
  ])('%s', (_what, ariWindow, due, why) => {
    const d = dueness({
      expiresMs: at(10).getTime(),
      issuedMs: at(-80).getTime(),
      nowMs: NOW.getTime(),
      renewBeforeDays: 30,
      ...(ariWindow ? { ariWindow } : {}),
    });
    expect(d.due).toBe(due);
    expect(d.why).toMatch(why);
  });
});

describe('ariIdToAsk', () => {
  const tagged = { expireTimeStamp: at(30).getTime(), tags: [{ key: ACME_ARI_ID_TAG, value: 'aki.serial' }] };
  it.each([
    ['an issued certificate carrying its id', true, tagged, 'aki.serial'],
    ['not an acme source', false, tagged, undefined],
    ['no id tag', true, { ...tagged, tags: [] }, undefined],
    ['an empty id', true, { ...tagged, tags: [{ key: ACME_ARI_ID_TAG, value: '' }] }, undefined],
    ['expired: due whatever the CA says', true, { ...tagged, expireTimeStamp: at(-1).getTime() }, undefined],
    ['the certificate is not in the region', true, undefined, undefined],
  ])('%s', (_what, issued, current, want) => {
    expect(ariIdToAsk(issued, current, ACME_ARI_ID_TAG, NOW.getTime())).toBe(want);
  });
});

describe('decideReference', () => {
  const due = { due: true, why: 'expires in 9 days (window 30)' };
  it.each([
    ['not due', { due: false, why: 'expires in 80 days' }, 'other', [], 'notDue'],
    ['due, CAS', due, 'other', [], 'findReplacement'],
    ['due, pinned by the spec', due, 'pinned', [], 'pinned'],
    ['due, acme, the CA asked to wait', due, 'acme', [retryTag(at(1))], 'waitForRateLimit'],
    ['due, acme, the wait is over', due, 'acme', [retryTag(at(-1))], 'findReplacement'],
    ['due, not acme: the wait does not apply', due, 'other', [retryTag(at(1))], 'findReplacement'],
    ['the certificate is not in the region', undefined, 'other', [], 'findReplacement'],
  ] as const)('%s', (_what, d, sourceKind, lbTags, kind) => {
    const decision = decideReference({
      loadBalancerId: 'lb-1',
      due: d,
      sourceKind,
      loadBalancerTags: lbTags,
      now: NOW,
    });
    expect(decision.kind).toBe(kind);
  });

  it('says why: pinned asks for a spec change, the wait names its tag, a dangling reference is named', () => {
    expect(
      decideReference({ loadBalancerId: 'lb-1', due, sourceKind: 'pinned', loadBalancerTags: [], now: NOW })
        .why,
    ).toBe(
      'expires in 9 days (window 30); the spec pins this reference to an SLB certificate id: update the spec',
    );
    const wait = decideReference({
      loadBalancerId: 'lb-1',
      due,
      sourceKind: 'acme',
      loadBalancerTags: [retryTag(at(1))],
      now: NOW,
    });
    expect(wait).toMatchObject({
      until: at(1),
      error: `the ACME CA's rate limit: not issuing before ${at(1).toISOString()} (${ACME_RETRY_AFTER_TAG} on lb-1)`,
    });
    expect(
      decideReference({
        loadBalancerId: 'lb-1',
        due: undefined,
        sourceKind: 'other',
        loadBalancerTags: [],
        now: NOW,
      }),
    ).toEqual({
      kind: 'findReplacement',
      why: 'the referenced certificate is not in the region',
      dangling: true,
    });
  });
});

describe('replacementVerdict', () => {
  const current = { fingerprint: 'AB:CD:EF:01', expireTimeStamp: at(10).getTime() };
  it.each([
    ['expires later: replace', { fingerprint: '1234', notAfter: at(90) }, true],
    [
      'the same certificate, SLB spelling its fingerprint with colons',
      { fingerprint: 'abcdef01', notAfter: at(90) },
      false,
    ],
    ['expires earlier', { fingerprint: '1234', notAfter: at(5) }, false],
    ['expires the same day', { fingerprint: '1234', notAfter: at(10) }, false],
    [
      'issued now, even expiring earlier (the CA wants it served)',
      { fingerprint: '1234', notAfter: at(5), issuedNow: true },
      true,
    ],
    [
      'issued now but the same certificate',
      { fingerprint: 'ABCDEF01', notAfter: at(90), issuedNow: true },
      false,
    ],
  ])('%s', (_what, candidate, ok) => {
    expect(replacementVerdict(current, { commonName: 'a.example.com', ...candidate }).ok).toBe(ok);
  });

  it('anything replaces a certificate that is not in the region', () => {
    expect(replacementVerdict(undefined, { fingerprint: '12', commonName: 'a', notAfter: at(-1) }).ok).toBe(
      true,
    );
  });
});

describe('planRetryAfterTags', () => {
  it.each([
    [
      'a new wait is tagged',
      [{ loadBalancerId: 'lb-1', tags: [] }],
      [['lb-1', at(1)]],
      ['tagRetryAfter:lb-1'],
      [],
    ],
    [
      'a wait that is over goes',
      [{ loadBalancerId: 'lb-1', tags: [retryTag(at(-1))] }],
      [],
      ['untagRetryAfter:lb-1'],
      [],
    ],
    ['a wait still running stays', [{ loadBalancerId: 'lb-1', tags: [retryTag(at(1))] }], [], [], []],
    [
      'a wait that is over, and a new one: rewritten, not removed',
      [{ loadBalancerId: 'lb-1', tags: [retryTag(at(-1))] }],
      [['lb-1', at(2)]],
      ['tagRetryAfter:lb-1'],
      [],
    ],
    [
      'no room on the load balancer: a warning, no write',
      [{ loadBalancerId: 'lb-1', tags: tags(18) }],
      [['lb-1', at(1)]],
      [],
      [`lb-1: no room for ${ACME_RETRY_AFTER_TAG}; the next run asks the CA again`],
    ],
    [
      'a full load balancer that already has the tag: rewritten in place',
      [{ loadBalancerId: 'lb-1', tags: tags(17, [retryTag(at(-1))]) }],
      [['lb-1', at(1)]],
      ['tagRetryAfter:lb-1'],
      [],
    ],
  ] as const)('%s', (_what, lbs, waits, ids, warnings) => {
    const plan = planRetryAfterTags(lbs, new Map(waits as unknown as [string, Date][]), NOW);
    expect(plan.actions.map((a) => a.id)).toEqual(ids);
    expect(plan.warnings).toEqual(warnings);
  });
});

describe('batching switches by free tag room', () => {
  it.each([
    [0, 9],
    [2, 8],
    [15, 1],
    [16, 1],
    [17, 0],
    [20, 0],
  ])('%i tags in use: room for %i markers', (inUse, room) => {
    expect(markerRoom(inUse)).toBe(room);
  });

  it.each([
    ['one batch when they fit', 0, 3, [[0, 1, 2]], []],
    ['batches of the room left', 15, 3, [[0], [1], [2]], []],
    ['none when there is no room', 17, 2, [], [0, 1]],
  ])('%s', (_what, inUse, n, batches, noRoom) => {
    const items = Array.from({ length: n }, (_, i) => i);
    expect(batchByTagRoom(items, inUse)).toEqual({ batches, noRoom });
  });

  it('groups per load balancer, refuses unsettled references in place and load balancers without room', () => {
    const plan = planSwitchBatches(
      [
        { referenceId: 'lb-1:443', loadBalancerId: 'lb-1' },
        { referenceId: 'lb-2:443', loadBalancerId: 'lb-2' },
        { referenceId: 'lb-1:443/m', loadBalancerId: 'lb-1' },
        { referenceId: 'lb-1:8443', loadBalancerId: 'lb-1' },
      ],
      (lb) => (lb === 'lb-1' ? 14 : 17),
      new Set(['lb-1:443']),
    );
    // lb-1 has room for 2: [443 (unsettled), 443/m] then [8443]
    expect(plan.batches).toEqual([
      { loadBalancerId: 'lb-1', referenceIds: ['lb-1:443/m'] },
      { loadBalancerId: 'lb-1', referenceIds: ['lb-1:8443'] },
    ]);
    expect(plan.refused).toEqual([
      { referenceId: 'lb-1:443', reason: NOT_SETTLED_REASON },
      { referenceId: 'lb-2:443', reason: 'no room for the rotation marker on lb-2 (20 tags at most)' },
    ]);
  });
});

describe('planMarkers', () => {
  const marker = (ref: string, from: string, to: string) =>
    rotationMarkerTags({ ref, from, to, at: 1_700_000_000 });
  const refs = [
    { id: 'lb-1:443', loadBalancerId: 'lb-1', markerRef: '443', serverCertificateId: 'new' },
    { id: 'lb-1:443/m', loadBalancerId: 'lb-1', markerRef: 'de-1', serverCertificateId: 'old' },
    { id: 'lb-1:8443', loadBalancerId: 'lb-1', markerRef: '8443', serverCertificateId: 'theirs' },
  ];
  it.each([
    [
      'the target is bound: verify it, or roll back',
      marker('443', 'old', 'new'),
      'resumeMarker',
      { bound: 'target' },
    ],
    [
      'the previous is still bound: verify it',
      marker('de-1', 'old', 'new'),
      'resumeMarker',
      { bound: 'previous' },
    ],
    [
      'another certificate was bound since',
      marker('8443', 'old', 'new'),
      'dropMarker',
      { outcome: 'changedElsewhere' },
    ],
    [
      'the reference is gone',
      marker('9443', 'old', 'new'),
      'dropMarker',
      { outcome: 'referenceGone', referenceId: 'lb-1:9443' },
    ],
    ['half a marker', marker('443', 'old', 'new').slice(0, 1), 'dropMarker', { outcome: 'broken' }],
  ] as const)('%s', (_what, lbTags, kind, more) => {
    const actions = planMarkers([{ loadBalancerId: 'lb-1', tags: lbTags }], refs);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ kind, loadBalancerId: 'lb-1', ...more });
    expect(actions[0]?.reason).not.toBe('');
  });

  it('leaves load balancers the spec does not manage alone', () => {
    expect(planMarkers([{ loadBalancerId: 'lb-9', tags: marker('443', 'old', 'new') }], refs)).toEqual([]);
  });
});

describe('what may be deleted', () => {
  it('counts what each reference may hold, unsettled markers and references outside the spec', () => {
    const referenced = referencedCertificates(
      [
        { action: 'rotated', before: 'a-old', after: 'a-new' },
        { action: 'failed', before: 'b-old', after: 'b-new' },
        { action: 'rolledBack', before: 'c-old', after: 'c-new' },
        { action: 'wouldRotate', before: 'd-old', after: 'd-new' },
      ],
      [{ from: 'm-from', to: 'm-to' }],
      ['elsewhere'],
    );
    expect([...referenced].sort()).toEqual(
      ['a-new', 'b-new', 'b-old', 'c-old', 'd-old', 'elsewhere', 'm-from', 'm-to'].sort(),
    );
  });

  const owned = markerTags(DEFAULT_OWNERSHIP);
  const cert = (
    id: string,
    expiresInDays: number,
    extra: { key: string; value: string }[] = [],
    name = 'slbap-x',
  ) => ({
    serverCertificateId: id,
    serverCertificateName: name,
    expireTimeStamp: at(expiresInDays).getTime(),
    tags: [...owned, ...extra],
  });
  const replaced = (daysAgo: number) => ({ key: REPLACED_AT_TAG, value: at(-daysAgo).toISOString() });
  it.each([
    ['ours, replaced, grace over', cert('c', 30, [replaced(8)]), 'delete', /grace period of 7 days over/],
    ['ours, replaced, within grace', cert('c', 30, [replaced(6)]), 'keep', /grace period of 7 days since/],
    ['ours, expired, never replaced', cert('c', -1), 'delete', /expired/],
    ['ours, not replaced', cert('c', 30), 'keep', /no replaced-at tag/],
    ['not ours (no tag)', { ...cert('c', -1), tags: [] }, 'ignore', undefined],
    ['not ours (name)', cert('c', -1, [], 'other-x'), 'ignore', undefined],
    ['ours but referenced', cert('used', -1), 'ignore', undefined],
  ])('%s', (_what, c, verdict, why) => {
    const plan = planDeletions({
      certificates: [c],
      ownership: DEFAULT_OWNERSHIP,
      referenced: new Set(['used']),
      nowMs: NOW.getTime(),
      gracePeriodDays: 7,
    });
    expect(plan.actions.length > 0 ? 'delete' : plan.kept.length > 0 ? 'keep' : 'ignore').toBe(verdict);
    if (why) expect(plan.actions[0]?.reason ?? plan.kept[0]?.why).toMatch(why);
    if (verdict === 'delete')
      expect(plan.actions[0]).toMatchObject({
        kind: 'deleteCertificate',
        serverCertificateId: c.serverCertificateId,
      });
  });

  it.each([
    [89, undefined],
    [90, 'cn-hangzhou holds 90 of 100 server certificates: near the quota'],
    [100, 'cn-hangzhou holds 100 of 100 server certificates: near the quota'],
  ])('%i certificates left: %s', (count, warning) => {
    expect(quotaWarning('cn-hangzhou', count)).toBe(warning);
  });
});

describe('handshakeNames', () => {
  it.each([
    ['plain names', ['a.example.com'], [], [{ domain: 'a.example.com', servername: 'a.example.com' }]],
    [
      'a wildcard is checked on a name it covers',
      ['*.example.com'],
      [],
      [{ domain: '*.example.com', servername: 'check.example.com' }],
    ],
    [
      'a name an extension domain answers is skipped',
      ['a.example.com', 'm.example.com'],
      ['m.example.com'],
      [
        { domain: 'a.example.com', servername: 'a.example.com' },
        {
          domain: 'm.example.com',
          servername: 'm.example.com',
          skip: 'answered by its extension domain: not checked here',
        },
      ],
    ],
    [
      'every name answered elsewhere: one handshake without SNI',
      ['m.example.com'],
      ['*.example.com'],
      [
        {
          domain: 'm.example.com',
          servername: 'm.example.com',
          skip: 'answered by its extension domain: not checked here',
        },
        { domain: '(no SNI)' },
      ],
    ],
  ])('%s', (_what, domains, extensionDomains, want) => {
    expect(handshakeNames(domains, extensionDomains)).toEqual(want);
  });
});
