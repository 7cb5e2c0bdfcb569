// One writer per load balancer at a time, across instances and functions (apply, failover, renewal):
// a lease the cloud holds, as tags on the load balancer. FC's reserved concurrency serialises one
// function's runs at best; two operators, a client retry, or renewal and apply at once need this.
//
// A claim is one tag per contender: `slbap:lease:<claim id>` = `<holder>;<expires at, ISO>`.
// Taking the lease:
//   1. read the claims (ListTagResources); an unexpired claim of someone else: wait and retry (bounded),
//      then give up with LeaseHeldError (409 over HTTP) naming the holder and its expiry
//   2. write our claim (TagResources); if reading and writing took longer than `settleMs`, withdraw it
//      and start over
//   3. wait `settleMs`, read the claims again: we hold the lease when ours is the lowest claim id among
//      the unexpired ones; otherwise withdraw it and go back to 1
// Why two contenders never both win: a contender writes only after reading no live claim, and its
// read-then-write takes at most `settleMs` (step 2). Say A's claim landed at time a. Any contender B that
// read before a lands its claim before a + settleMs, that is before A's confirming read; any B that read
// after a saw A's claim and did not write. The same holds with A and B swapped, so two contenders that
// both wrote each see the other's claim in their confirming read, and both pick the same lowest id.
// (Tag writes are last-writer-wins per key; one key per contender means no claim overwrites another.)
// Expiry compares wall clocks of different hosts: the TTL must dwarf their skew (NTP keeps FC hosts
// within milliseconds). The holder renews at `checkpoint()` once a third of the TTL has passed, and a
// holder that finds its claim gone or another live claim has lost the lease (LeaseLostError) and stops
// writing. An expired claim (a crashed run) is ignored, and removed by the next holder.

import { randomBytes } from 'node:crypto';
import type { SlbClient } from '../cloud/slb';
import { GuardRefusedError } from '../errors';

export const LEASE_TAG_PREFIX = 'slbap:lease:';

export interface LeaseOptions {
  /** a claim's life; renewed at checkpoints once a third of it has passed */
  ttlMs: number;
  /** how long to wait for another holder before giving up */
  waitMs: number;
  /** between writing a claim and confirming it; also the longest a read-then-write may take */
  settleMs: number;
}

export const DEFAULT_LEASE: LeaseOptions = { ttlMs: 120_000, waitMs: 30_000, settleMs: 1000 };

export interface LeaseDeps {
  slb: Pick<SlbClient, 'tagResources' | 'untagResources' | 'listTagResources'>;
  regionId: string;
  now: () => Date;
  lease?: LeaseOptions;
  sleep?: (ms: number) => Promise<void>;
  /** a new claim id; random by default (claim ids only need to be distinct) */
  claimId?: () => string;
}

export interface Lease {
  loadBalancerId: string;
  holder: string;
  /** before each write: renews the claim when due; throws LeaseLostError when it is no longer ours */
  checkpoint(): Promise<void>;
}

interface Claim {
  id: string;
  holder: string;
  expiresAt: number;
}

/** The lease could not be taken within the wait: nothing was written. */
export class LeaseUnavailableError extends GuardRefusedError {
  override name = 'LeaseUnavailableError';
  constructor(
    readonly loadBalancerId: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, { status: 409, code: 'LoadBalancerBusy', cause });
  }
}

export class LeaseHeldError extends LeaseUnavailableError {
  override name = 'LeaseHeldError';
  constructor(
    loadBalancerId: string,
    readonly holder: string,
    readonly expiresAt: string,
  ) {
    super(
      loadBalancerId,
      `load balancer ${loadBalancerId} is being changed by ${holder} (lease until ${expiresAt}); try again after that`,
    );
  }
}

export class LeaseLostError extends GuardRefusedError {
  override name = 'LeaseLostError';
  constructor(
    readonly loadBalancerId: string,
    message: string,
  ) {
    super(`load balancer ${loadBalancerId}: ${message}; stopped before the next write`, {
      status: 409,
      code: 'LeaseLost',
    });
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parseClaims(rows: { key: string; value: string }[]): Claim[] {
  return rows.flatMap((r) => {
    if (!r.key.startsWith(LEASE_TAG_PREFIX)) return [];
    const cut = r.value.lastIndexOf(';');
    const expiresAt = Date.parse(r.value.slice(cut + 1));
    // An unreadable claim counts as expired: it cannot block anyone forever.
    return [
      {
        id: r.key.slice(LEASE_TAG_PREFIX.length),
        holder: cut > 0 ? r.value.slice(0, cut) : 'unknown',
        expiresAt: Number.isNaN(expiresAt) ? 0 : expiresAt,
      },
    ];
  });
}

/** Runs `fn` holding the load balancer's lease; releases it afterwards, also when `fn` throws. */
export async function withLoadBalancerLease<T>(
  deps: LeaseDeps,
  loadBalancerId: string,
  holder: string,
  fn: (lease: Lease) => Promise<T>,
): Promise<T> {
  return withLoadBalancerLeases(deps, [loadBalancerId], holder, (leases) => fn(leases[0] as Lease));
}

/** Several load balancers: taken in id order (two runs never wait on each other crosswise). */
export async function withLoadBalancerLeases<T>(
  deps: LeaseDeps,
  loadBalancerIds: readonly string[],
  holder: string,
  fn: (leases: Lease[]) => Promise<T>,
): Promise<T> {
  const held: HeldLease[] = [];
  try {
    for (const id of [...new Set(loadBalancerIds)].sort()) held.push(await acquire(deps, id, holder));
    return await fn(held);
  } finally {
    for (const l of held.reverse()) await l.release();
  }
}

interface HeldLease extends Lease {
  release(): Promise<void>;
}

const claimKey = (id: string) => `${LEASE_TAG_PREFIX}${id}`;

/** One contender's view of a load balancer's lease tags: reads every claim, writes and withdraws its own. */
class LeaseTags {
  constructor(
    private readonly deps: LeaseDeps,
    readonly loadBalancerId: string,
    readonly holder: string,
    /** this contender's claim id */
    readonly mine: string,
  ) {}

  nowMs(): number {
    return this.deps.now().getTime();
  }

  async read(): Promise<Claim[]> {
    const { slb, regionId } = this.deps;
    return parseClaims(
      await slb.listTagResources({ regionId, resourceType: 'instance', resourceIds: [this.loadBalancerId] }),
    );
  }

  /** Our claim, valid until `expiresAt` (ms). */
  write(expiresAt: number): Promise<unknown> {
    return this.deps.slb.tagResources({
      regionId: this.deps.regionId,
      resourceType: 'instance',
      resourceIds: [this.loadBalancerId],
      tags: [{ key: claimKey(this.mine), value: `${this.holder};${new Date(expiresAt).toISOString()}` }],
    });
  }

  withdraw(ids: string[]): Promise<unknown> {
    if (ids.length === 0) return Promise.resolve();
    return this.deps.slb.untagResources({
      regionId: this.deps.regionId,
      resourceType: 'instance',
      resourceIds: [this.loadBalancerId],
      tagKeys: ids.map(claimKey),
    });
  }
}

/** One round of taking the lease: won, or not (yet), with the error to give up with at the deadline. */
type Round = { won: true } | { won: false; refusal: () => LeaseUnavailableError; pause: boolean };

const heldBy = (tags: LeaseTags, claim: { holder: string; expiresAt: number }): LeaseHeldError =>
  new LeaseHeldError(tags.loadBalancerId, claim.holder, new Date(claim.expiresAt).toISOString());

/** Steps 1-3 of the header, once. */
async function claimRound(
  tags: LeaseTags,
  o: LeaseOptions,
  sleep: (ms: number) => Promise<void>,
): Promise<Round> {
  const started = tags.nowMs();
  const others = (await tags.read()).filter((c) => c.id !== tags.mine && c.expiresAt > tags.nowMs());
  if (others.length > 0) {
    const last = others.reduce((a, b) => (b.expiresAt > a.expiresAt ? b : a));
    return { won: false, refusal: () => heldBy(tags, last), pause: true };
  }
  await tags.write(tags.nowMs() + o.ttlMs);
  if (tags.nowMs() - started > o.settleMs) {
    // Too slow to be sure nobody wrote unseen in between: withdraw and start over.
    await tags.withdraw([tags.mine]);
    return { won: false, refusal: () => tooSlow(tags.loadBalancerId, o.settleMs), pause: false };
  }
  await sleep(o.settleMs);
  return confirmRound(tags);
}

const tooSlow = (loadBalancerId: string, settleMs: number) =>
  new LeaseUnavailableError(
    loadBalancerId,
    `load balancer ${loadBalancerId}: claiming its lease took longer than ${settleMs} ms each time (slow API calls); nothing was written, try again`,
  );

/** Step 3: ours when our claim has the lowest id among the live ones; otherwise withdrawn. */
async function confirmRound(tags: LeaseTags): Promise<Round> {
  const claims = await tags.read();
  const live = claims.filter((c) => c.expiresAt > tags.nowMs());
  const winner = live.map((c) => c.id).sort()[0];
  if (winner === tags.mine) {
    // Ours. Claims that expired (crashed runs) are cleared, best effort.
    await tags
      .withdraw(claims.filter((c) => c.expiresAt <= tags.nowMs()).map((c) => c.id))
      .catch(() => undefined);
    return { won: true };
  }
  await tags.withdraw([tags.mine]);
  const refusal = () => {
    const w = live.find((c) => c.id === winner);
    return heldBy(tags, { holder: w?.holder ?? 'another writer', expiresAt: w?.expiresAt ?? tags.nowMs() });
  };
  return { won: false, refusal, pause: true };
}

async function acquire(deps: LeaseDeps, loadBalancerId: string, holder: string): Promise<HeldLease> {
  const o = deps.lease ?? DEFAULT_LEASE;
  const sleep = deps.sleep ?? defaultSleep;
  const tags = new LeaseTags(
    deps,
    loadBalancerId,
    holder,
    deps.claimId?.() ?? randomBytes(6).toString('hex'),
  );
  // Polls a little faster than claims settle, with jitter so two waiters do not stay in step.
  const pause = () => sleep(Math.max(50, o.settleMs / 2) * (0.5 + Math.random()));
  const deadline = tags.nowMs() + o.waitMs;
  for (;;) {
    const round = await claimRound(tags, o, sleep);
    if (round.won) return new HeldClaim(tags, o);
    if (tags.nowMs() >= deadline) throw round.refusal();
    if (round.pause) await pause();
  }
}

/** A lease taken: renewed at checkpoints, withdrawn at release. Methods are own properties (unbound use). */
class HeldClaim implements HeldLease {
  readonly loadBalancerId: string;
  readonly holder: string;
  private renewedAt: number;
  private expiresAt: number;
  private lost: string | undefined;

  constructor(
    private readonly tags: LeaseTags,
    private readonly o: LeaseOptions,
  ) {
    this.loadBalancerId = tags.loadBalancerId;
    this.holder = tags.holder;
    this.renewedAt = tags.nowMs();
    this.expiresAt = this.renewedAt + o.ttlMs;
  }

  checkpoint = async (): Promise<void> => {
    if (this.lost) throw new LeaseLostError(this.loadBalancerId, this.lost);
    const now = this.tags.nowMs();
    if (now >= this.expiresAt) this.lost = 'the lease expired before it was renewed';
    else if (now - this.renewedAt >= this.o.ttlMs / 3) this.lost = await this.renew(now);
    if (this.lost) throw new LeaseLostError(this.loadBalancerId, this.lost);
  };

  /** Renews our claim when it is still the only live one; otherwise says how the lease was lost. */
  private async renew(now: number): Promise<string | undefined> {
    const mine = this.tags.mine;
    const claims = (await this.tags.read()).filter((c) => c.expiresAt > now);
    if (!claims.some((c) => c.id === mine)) return 'the lease was taken over';
    const other = claims.find((c) => c.id !== mine);
    if (other) return `another writer claimed it (${other.holder})`;
    await this.tags.write(now + this.o.ttlMs);
    this.renewedAt = now;
    this.expiresAt = now + this.o.ttlMs;
    return undefined;
  }

  release = async (): Promise<void> => {
    // Best effort: a claim left behind (the write failed) expires on its own.
    await this.tags.withdraw([this.tags.mine]).catch(() => undefined);
  };
}
