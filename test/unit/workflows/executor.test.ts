// The one executor, tested once: order, dependencies, concurrency, stopping, guards, paired steps
// (a failure after a bind rolls back), errors with causes, and dry run.

import { describe, expect, it } from 'vitest';
import { CloudError, toCloudError } from '../../../shared/cloud/errors';
import { execute, mapPool, type PlannedAction, type Work } from '../../../shared/workflows/executor';
import type { PairedStep } from '../../../shared/workflows/paired-step';

interface Write extends PlannedAction {
  fails?: boolean;
}

const plan = (...ids: (string | Partial<Write>)[]): Write[] =>
  ids.map((x) =>
    typeof x === 'string'
      ? { id: x, kind: 'write', reason: `test ${x}` }
      : { kind: 'write', reason: '', id: '', ...x },
  );

/** work that records the order of writes, and fails the actions marked so */
function recorder() {
  const log: string[] = [];
  const work = (a: Write): Work<string> => ({
    run: async () => {
      log.push(`start ${a.id}`);
      await new Promise((r) => setImmediate(r));
      if (a.fails) throw new CloudError({ action: 'SetRule', code: 'Throttling.User', message: 'slow down' });
      log.push(`end ${a.id}`);
    },
  });
  return { log, work };
}

describe('execute', () => {
  it('runs a plan in order, one action at a time by default', async () => {
    const { log, work } = recorder();
    const out = await execute(plan('a', 'b', 'c'), work);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(out.results.map((r) => r.status)).toEqual(['done', 'done', 'done']);
    expect(out.failed).toBe(false);
  });

  it('stops at the first failure: later actions are skipped, the error keeps its type and cause', async () => {
    const { log, work } = recorder();
    const out = await execute(plan('a', { id: 'b', fails: true }, 'c'), work);
    expect(log).toEqual(['start a', 'end a', 'start b']);
    expect(out.results.map((r) => r.status)).toEqual(['done', 'failed', 'skipped']);
    expect(out.failed).toBe(true);
    expect(out.results[1]?.thrown).toBeInstanceOf(CloudError);
    expect(out.results[1]?.error).toMatchObject({
      kind: 'cloud',
      name: 'CloudError',
      action: 'SetRule',
      code: 'Throttling.User',
      status: 502,
    });
  });

  it('with stopOnFailure off, goes on but skips what depends on the failed action', async () => {
    const { log, work } = recorder();
    const out = await execute(
      plan({ id: 'a', fails: true }, { id: 'b', after: ['a'] }, 'c', { id: 'd', after: ['c'] }),
      work,
      { stopOnFailure: false },
    );
    expect(out.results.map((r) => r.status)).toEqual(['failed', 'skipped', 'done', 'done']);
    expect(log).not.toContain('start b');
  });

  it('runs at most `concurrency` at once, and an action waits for the ones it comes after', async () => {
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const work = (a: Write): Work<never> => ({
      run: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, a.id === 'a' ? 5 : 1));
        order.push(a.id);
        running--;
      },
    });
    const out = await execute(plan('a', 'b', 'c', { id: 'd', after: ['a'] }, 'e', 'f'), work, {
      concurrency: 3,
    });
    expect(most).toBe(3);
    expect(order.indexOf('d')).toBeGreaterThan(order.indexOf('a'));
    expect(out.results.every((r) => r.status === 'done')).toBe(true);
  });

  it('refuses a plan whose order it could deadlock on, before any write', async () => {
    const { log, work } = recorder();
    await expect(execute(plan({ id: 'a', after: ['b'] }, 'b'), work)).rejects.toThrow(/a must come after b/);
    await expect(execute(plan('a', 'a'), work)).rejects.toThrow(/appears twice/);
    expect(log).toEqual([]);
  });

  it('a dry run records the plan and writes nothing', async () => {
    const { log, work } = recorder();
    const out = await execute(plan('a', { id: 'b', fails: true }), work, { dryRun: true });
    expect(log).toEqual([]);
    expect(out).toMatchObject({ dryRun: true, failed: false });
    expect(out.results.map((r) => r.status)).toEqual(['planned', 'planned']);
  });

  it('a guard that throws (a lost lease) fails the action unattempted and stops the run', async () => {
    const { log, work } = recorder();
    let checks = 0;
    const out = await execute(plan('a', 'b', 'c'), work, {
      beforeEach: async () => {
        if (++checks === 2) throw new Error('lease lost');
      },
    });
    expect(log).toEqual(['start a', 'end a']);
    expect(out.results.map((r) => r.status)).toEqual(['done', 'failed', 'skipped']);
    expect(out.results[1]?.error?.message).toBe('lease lost');
  });

  it('a paired step that fails its verify is rolled back, and the rollback verified', async () => {
    let bound = 'old';
    const step = (to: string, serves: boolean): PairedStep<string> => ({
      id: `switch to ${to}`,
      bind: async () => {
        bound = to;
      },
      verify: async () => ({ ok: serves, details: `served ${serves ? to : 'old'}` }),
      rollback: {
        bind: async () => {
          bound = 'old';
        },
        verify: async () => ({ ok: bound === 'old', details: `served ${bound}` }),
      },
    });
    const actions = plan('good', 'bad', 'after');
    const out = await execute(
      actions,
      (a): Work<string> =>
        a.id === 'after'
          ? { run: async () => {} }
          : { paired: step(a.id === 'good' ? 'new' : 'broken', a.id === 'good') },
    );
    expect(out.results.map((r) => r.status)).toEqual(['done', 'rolledBack', 'skipped']);
    expect(bound).toBe('old');
    expect(out.results[1]?.paired?.rollbackVerification).toBe('served old');
    expect(out.results[1]?.error).toMatchObject({
      kind: 'step',
      phase: 'verify',
      cause: { kind: 'verification' },
    });
  });

  it('reports progress for each action in plan order', async () => {
    const { work } = recorder();
    const events: string[] = [];
    await execute(plan('a', { id: 'b', fails: true }), work, {
      onProgress: (e) => events.push(`${e.index}/${e.total} ${e.action.id} ${e.status}`),
    });
    expect(events).toEqual(['1/2 a started', '1/2 a done', '2/2 b started', '2/2 b failed']);
  });
});

describe('mapPool', () => {
  it('keeps results in item order and at most `limit` running', async () => {
    let running = 0;
    let most = 0;
    const out = await mapPool([30, 10, 20, 5], 2, async (ms) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return ms * 2;
    });
    expect(out).toEqual([60, 20, 40, 10]);
    expect(most).toBe(2);
  });

  it('starts nothing once `until` holds; what did not start is undefined', async () => {
    let started = 0;
    const out = await mapPool(
      [1, 2, 3, 4],
      1,
      async (x) => {
        started++;
        return x;
      },
      { until: () => started >= 2 },
    );
    expect(out).toEqual([1, 2, undefined, undefined]);
  });

  it('rejects with the first error and starts nothing after it', async () => {
    const seen: number[] = [];
    await expect(
      mapPool([1, 2, 3], 1, async (x) => {
        seen.push(x);
        if (x === 2) throw new Error('two');
        return x;
      }),
    ).rejects.toThrow('two');
    expect(seen).toEqual([1, 2]);
  });

  it('refuses a pool size that is not a positive integer', async () => {
    await expect(mapPool([1], 0, async (x) => x)).rejects.toThrow(RangeError);
  });
});

describe('errors in reports', () => {
  it('never copy a cloud error’s cause, which may quote the signed request (a private key among it)', async () => {
    const sdk = Object.assign(
      new Error('SignatureDoesNotMatch: server string to sign is: POST&%2F&PrivateKey%3D-----BEGIN'),
      { code: 'SignatureDoesNotMatch', data: { Code: 'SignatureDoesNotMatch', Message: 'mismatch' } },
    );
    const out = await execute(plan('upload'), () => ({
      run: async () => {
        throw toCloudError('UploadServerCertificate', sdk);
      },
    }));
    const report = out.results[0]?.error;
    expect(report).toMatchObject({
      kind: 'cloud',
      code: 'SignatureDoesNotMatch',
      action: 'UploadServerCertificate',
    });
    expect(JSON.stringify(report)).not.toMatch(/PrivateKey|string to sign/);
    // The error itself keeps its cause for the code that handles it.
    expect((out.results[0]?.thrown as Error | undefined)?.cause).toBe(sdk);
  });
});
