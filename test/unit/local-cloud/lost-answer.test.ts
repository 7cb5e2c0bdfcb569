// The lost-answer fault's decisions: only writes lose their answers unless an action is named (reads
// included then), the seed decides which, and configuring it leaves the other faults' sequence alone.
import { describe, expect, it } from 'vitest';
import type { ApiError } from '../../../scripts/local-cloud/errors';
import { FaultInjector, parseFaultConfig } from '../../../scripts/local-cloud/faults';

const lost = (f: FaultInjector, action: string, write: boolean, n: number) =>
  Array.from({ length: n }, () => f.loseAnswer(action, write));

describe('FaultInjector: lost answers', () => {
  it('loses the answers of writes at the rate, never of reads unless the action is named', () => {
    const f = new FaultInjector();
    f.configure(parseFaultConfig({ lostAnswerRate: 1 }));
    expect(lost(f, 'SetVServerGroupAttribute', true, 3)).toEqual([true, true, true]);
    expect(lost(f, 'DescribeVServerGroupAttribute', false, 3)).toEqual([false, false, false]);
    f.configure(
      parseFaultConfig({
        lostAnswerRate: 1,
        lostAnswerActions: { DescribeLoadBalancers: 1, UploadServerCertificate: 0 },
      }),
    );
    expect(lost(f, 'DescribeLoadBalancers', false, 2)).toEqual([true, true]);
    expect(lost(f, 'UploadServerCertificate', true, 2)).toEqual([false, false]);
  });

  it('decides by the seed', () => {
    const run = (seed: number) => {
      const f = new FaultInjector();
      f.configure({ lostAnswerRate: 0.5, seed });
      return lost(f, 'SetVServerGroupAttribute', true, 32);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
    expect(new Set(run(5))).toEqual(new Set([true, false]));
  });

  it('leaves the sequence of the other faults alone when it does not apply', () => {
    const outcomes = (config: object) => {
      const f = new FaultInjector();
      f.configure({ errorRate: 0.5, seed: 9, ...config });
      return Array.from({ length: 20 }, () => {
        f.loseAnswer('DescribeLoadBalancers', false); // a read: no draw
        try {
          f.check('DescribeLoadBalancers', false, 0);
          return 'ok';
        } catch (err) {
          return (err as ApiError).code;
        }
      });
    };
    expect(outcomes({ lostAnswerRate: 0.9 })).toEqual(outcomes({}));
  });
});
