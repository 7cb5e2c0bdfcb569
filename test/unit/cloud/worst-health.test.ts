// One health state per backend from DescribeHealthStatus's rows (one per listener and backend): the worst
// definite answer wins; `unavailable` (a listener that does not check) never hides one.
import { describe, expect, it } from 'vitest';
import { type BackendHealth, type HealthState, worstHealthByBackend } from '../../../shared/cloud/slb/health';

const row = (listenerPort: number, state: HealthState): BackendHealth => ({
  listenerPort,
  protocol: 'http',
  serverId: 'i-k8s',
  port: 30250,
  state,
});

describe('worstHealthByBackend', () => {
  it.each<[HealthState[], HealthState]>([
    [['normal', 'unavailable'], 'normal'],
    [['unavailable', 'normal'], 'normal'],
    [['normal', 'abnormal'], 'abnormal'],
    [['abnormal', 'unavailable'], 'abnormal'],
    [['normal', 'unknown'], 'unknown'],
    [['unavailable', 'unavailable'], 'unavailable'],
  ])('%j -> %s', (states, expected) => {
    const worst = worstHealthByBackend(states.map((s, i) => row(443 + i, s)));
    expect(worst.get('i-k8s:30250')?.state).toBe(expected);
  });
});
