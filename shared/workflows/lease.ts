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
    super(message, { status: 409, code: 'LeaseUnavailable', cause });
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

async function acquire(deps: LeaseDeps, loadBalancerId: string, holder: string): Promise<HeldLease> {
  const o = deps.lease ?? DEFAULT_LEASE;
  const sleep = deps.sleep ?? defaultSleep;
  const { slb, regionId } = deps;
  const nowMs = () => deps.now().getTime();
  const key = (id: string) => `${LEASE_TAG_PREFIX}${id}`;
  const read = async () =>
    parseClaims(
      await slb.listTagResources({ regionId, resourceType: 'instance', resourceIds: [loadBalancerId] }),
    );
  const write = (id: string, expiresAt: number) =>
    slb.tagResources({
      regionId,
      resourceType: 'instance',
      resourceIds: [loadBalancerId],
      tags: [{ key: key(id), value: `${holder};${new Date(expiresAt).toISOString()}` }],
    });
  const withdraw = (ids: string[]) =>
    ids.length === 0
      ? Promise.resolve()
      : slb.untagResources({
          regionId,
          resourceType: 'instance',
          resourceIds: [loadBalancerId],
          tagKeys: ids.map(key),
        });
  // Polls a little faster than claims settle, with jitter so two waiters do not stay in step.
  const pause = () => sleep(Math.max(50, o.settleMs / 2) * (0.5 + Math.random()));

  const deadline = nowMs() + o.waitMs;
  const mine = deps.claimId?.() ?? randomBytes(6).toString('hex');
  for (;;) {
    const started = nowMs();
    const others = (await read()).filter((c) => c.id !== mine && c.expiresAt > nowMs());
    if (others.length > 0) {
      const first = others.reduce((a, b) => (b.expiresAt > a.expiresAt ? b : a));
      if (nowMs() >= deadline)
        throw new LeaseHeldError(loadBalancerId, first.holder, new Date(first.expiresAt).toISOString());
      await pause();
      continue;
    }
    await write(mine, nowMs() + o.ttlMs);
    if (nowMs() - started > o.settleMs) {
      // Too slow to be sure nobody wrote unseen in between: withdraw and start over.
      await withdraw([mine]);
      if (nowMs() >= deadline)
        throw new LeaseUnavailableError(
          loadBalancerId,
          `load balancer ${loadBalancerId}: claiming its lease took longer than ${o.settleMs} ms each time (slow API calls); nothing was written, try again`,
        );
      continue;
    }
    await sleep(o.settleMs);
    const claims = await read();
    const live = claims.filter((c) => c.expiresAt > nowMs());
    const winner = live.map((c) => c.id).sort()[0];
    if (winner === mine) {
      // Ours. Claims that expired (crashed runs) are cleared, best effort.
      await withdraw(claims.filter((c) => c.expiresAt <= nowMs()).map((c) => c.id)).catch(() => undefined);
      break;
    }
    await withdraw([mine]);
    if (nowMs() >= deadline) {
      const w = live.find((c) => c.id === winner);
      throw new LeaseHeldError(
        loadBalancerId,
        w?.holder ?? 'another writer',
        new Date(w?.expiresAt ?? nowMs()).toISOString(),
      );
    }
    await pause();
  }

  let renewedAt = nowMs();
  let expiresAt = renewedAt + o.ttlMs;
  let lost: string | undefined;
  return {
    loadBalancerId,
    holder,
    async checkpoint() {
      if (lost) throw new LeaseLostError(loadBalancerId, lost);
      const now = nowMs();
      if (now >= expiresAt) lost = 'the lease expired before it was renewed';
      else if (now - renewedAt >= o.ttlMs / 3) {
        const claims = (await read()).filter((c) => c.expiresAt > now);
        if (!claims.some((c) => c.id === mine)) lost = 'the lease was taken over';
        else if (claims.some((c) => c.id !== mine))
          lost = `another writer claimed it (${claims.find((c) => c.id !== mine)?.holder})`;
        else {
          await write(mine, now + o.ttlMs);
          renewedAt = now;
          expiresAt = now + o.ttlMs;
        }
      }
      if (lost) throw new LeaseLostError(loadBalancerId, lost);
    },
    async release() {
      // Best effort: a claim left behind (the write failed) expires on its own.
      await withdraw([mine]).catch(() => undefined);
    },
  };
}
