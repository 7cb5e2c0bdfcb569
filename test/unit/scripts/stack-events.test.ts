// What the npm start console and the status page say happened, from the functions' own report lines.
import { describe, expect, it } from 'vitest';
import { EventLog, eventLine, eventsFromLogLine, eventsFromStatus } from '../../../scripts/stack-events';
import { consoleLine } from '../../../scripts/start';
import type { StatusReport } from '../../../shared/workflows/status';

const at = '2026-12-01T00:36:29.000Z';
const line = (fn: string, level: string, message: string) => `[${fn}] ${at} req-1 [${level}] ${message}`;
const names = new Map([
  ['i-k8s:30250', 'k8s-nodeport'],
  ['i-ecs:8050', 'ecs-standby'],
]);

const failoverReport = (kind: string, reasons: string[]) => ({
  failover: {
    loadBalancerId: 'lb-1',
    loadBalancerName: 'mall',
    command: 'auto',
    origin: 'health-audit',
    changed: kind !== 'none',
    failed: false,
    groups: [
      {
        vServerGroupId: 'rsp-1',
        name: 'mall-backends',
        decision: { kind, reasons },
        before: [],
        after: [
          { backend: 'i-k8s:30250', weight: kind === 'failBack' ? 100 : 0 },
          { backend: 'i-ecs:8050', weight: kind === 'failBack' ? 0 : 100 },
        ],
        writes: 1,
        verified: true,
      },
    ],
  },
});

describe('events from function log lines', () => {
  it('a failover and a failback, one readable line each with the deciding reasons', () => {
    const [shift] = eventsFromLogLine(
      line(
        'failover',
        'INFO',
        JSON.stringify(
          failoverReport('shiftToStandby', [
            'active pool taken from the weights: primary',
            'primary 0/1 healthy, standby 1/1 healthy',
            'primary is down (healthy share below 50%)',
            'shiftToStandby: i-k8s:30250 100 -> 0',
          ]),
        ),
      ),
      names,
    );
    expect(shift && eventLine(shift)).toBe(
      '00:36:29 failover         mall/mall-backends: shifted to the standby pool (k8s-nodeport 0, ecs-standby 100) (primary 0/1 healthy, standby 1/1 healthy; primary is down (healthy share below 50%))',
    );
    const [back] = eventsFromLogLine(
      line('provision', 'INFO', JSON.stringify(failoverReport('failBack', ['manual command toPrimary']))),
      names,
    );
    expect(back).toMatchObject({
      kind: 'failback',
      text: 'failed back to the primary pool (k8s-nodeport 100, ecs-standby 0)',
    });
    expect(
      eventsFromLogLine(line('failover', 'INFO', JSON.stringify(failoverReport('none', []))), names),
    ).toEqual([]);
  });

  it('a rolled-back rotation says so, with the reason; a dry run says nothing', () => {
    const renewal = (dryRun: boolean, action: string) => ({
      certRenewal: {
        dryRun,
        references: [
          {
            reference: 'lb-1:443',
            action,
            why: 'expires in 9 days (window 30)',
            error: 'served certificate did not change after 5 handshakes',
            before: { serverCertificateId: 'old', expires: '2026-12-11T00:00:00Z' },
            after: { serverCertificateId: 'new', expires: '2027-12-11T00:00:00Z' },
          },
        ],
      },
    });
    expect(
      eventsFromLogLine(line('cert-renewal', 'INFO', JSON.stringify(renewal(false, 'rolledBack')))),
    ).toEqual([
      {
        at,
        kind: 'rollback',
        subject: 'HTTPS 443',
        text: 'rotation rolled back: the listener kept serving the old certificate (expires 2026-12-11); nothing was deleted',
        reason: 'served certificate did not change after 5 handshakes',
      },
    ]);
    expect(
      eventsFromLogLine(line('provision', 'INFO', JSON.stringify(renewal(false, 'rotated'))))[0],
    ).toMatchObject({
      kind: 'rotation',
      text: 'certificate rotated: expiry 2026-12-11 -> 2027-12-11, served (TLS handshake)',
    });
    expect(
      eventsFromLogLine(line('provision', 'INFO', JSON.stringify(renewal(true, 'wouldRotate')))),
    ).toEqual([]);
    expect(eventsFromLogLine('not a function log line')).toEqual([]);
  });
});

describe('events from status changes', () => {
  const status = (
    failover: StatusReport['loadBalancers'][number]['groups'][number]['failover'],
  ): StatusReport => ({
    region: 'cn-hangzhou',
    at,
    drift: [],
    loadBalancers: [
      {
        name: 'mall',
        exists: true,
        listeners: [],
        groups: [{ name: 'mall-backends', backends: [], failover }],
      },
    ],
  });

  it('a pending failback once when it becomes due, and once when it is called off', () => {
    const waiting = status({ active: 'standby' });
    const due = status({ active: 'standby', failbackDueAt: '2026-12-01T00:41:29.000Z' });
    expect(eventsFromStatus(waiting, due, at).map(eventLine)).toEqual([
      '00:36:29 failback-pending mall/mall-backends: the primary pool is healthy again; failback due at 00:41:29 UTC if it stays healthy',
    ]);
    expect(eventsFromStatus(due, due, at)).toEqual([]);
    expect(eventsFromStatus(due, waiting, at)[0]?.text).toBe(
      'failback called off: the primary pool is unhealthy again',
    );
  });

  it('keeps the last events and tells listeners once', () => {
    const log = new EventLog(2);
    const heard: string[] = [];
    log.onEvent((e) => heard.push(e.text));
    log.push(...['a', 'b', 'c'].map((text) => ({ at, kind: 'error' as const, subject: 'x', text })));
    expect(log.list().map((e) => e.text)).toEqual(['b', 'c']);
    expect(heard).toEqual(['a', 'b', 'c']);
  });
});

describe('the npm start console', () => {
  it('shows warnings and errors whole, without timestamps, and no report JSON at all', () => {
    const long = 'x'.repeat(400);
    expect(consoleLine(line('health-audit', 'WARN', `health-audit: ${long}`))).toMatch(
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d warning {10}health-audit: health-audit: ${long}$`),
    );
    expect(consoleLine(line('failover', 'ERROR', '{"failover":{"groups":[]}}'))).toBeUndefined();
    expect(
      consoleLine(line('failover', 'INFO', JSON.stringify(failoverReport('failBack', [])))),
    ).toBeUndefined();
    expect(
      consoleLine(line('health-audit', 'INFO', 'health-audit: handed rsp-1 to failover')),
    ).toBeUndefined();
  });
});
