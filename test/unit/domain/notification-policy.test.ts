// When the audit and failover notify, and how loudly: decided from what the reports found, never from
// the text of a summary.
import { describe, expect, it } from 'vitest';
import {
  type AuditFindings,
  auditNotice,
  auditSummary,
  failoverNotice,
} from '../../../shared/domain/notification-policy';

const calm: AuditFindings = {
  loadBalancers: [{ name: 'mall', down: [], problems: [] }],
  drift: 0,
  expiring: 0,
  handOffs: 0,
};
const down: AuditFindings = {
  ...calm,
  loadBalancers: [{ name: 'mall', down: ['i-k8s:30250'], problems: [] }],
};

describe('auditSummary', () => {
  it.each<[string, AuditFindings, string]>([
    ['all well', calm, 'mall: all backends healthy'],
    ['a backend down', down, 'mall: down: i-k8s:30250'],
    [
      'problems, drift and certificates',
      {
        loadBalancers: [
          { name: 'a', down: ['i-1:80', 'i-2:80'], problems: ['listener 443 is stopped'] },
          { name: 'b', down: [], problems: [] },
        ],
        drift: 3,
        expiring: 2,
        handOffs: 0,
      },
      'a: down: i-1:80, i-2:80; listener 443 is stopped | b: all backends healthy | drift: 3 change(s) to converge | 2 certificate(s) expiring',
    ],
  ])('%s', (_name, f, want) => {
    expect(auditSummary(f)).toBe(want);
  });
});

describe('auditNotice', () => {
  it.each<[string, AuditFindings, string | undefined, { severity: string; title: string } | undefined]>([
    ['first run, all well: quiet', calm, undefined, undefined],
    [
      'first run, a backend down: warning',
      down,
      undefined,
      { severity: 'warning', title: 'health-audit: mall: down: i-k8s:30250' },
    ],
    [
      'first run, all well but a group handed off: info',
      { ...calm, handOffs: 1 },
      undefined,
      { severity: 'info', title: 'health-audit: mall: all backends healthy' },
    ],
    ['nothing changed since the last notice: quiet', down, 'mall: down: i-k8s:30250', undefined],
    [
      'recovered: info',
      calm,
      'mall: down: i-k8s:30250',
      { severity: 'info', title: 'health-audit: mall: all backends healthy' },
    ],
    [
      'drift appeared: info',
      { ...calm, drift: 1 },
      'mall: all backends healthy',
      { severity: 'info', title: 'health-audit: mall: all backends healthy' },
    ],
    [
      // The old text rule looked for "down:" in the summary: a load balancer named so was "down".
      'a load balancer whose name reads like a finding is not down',
      { ...calm, loadBalancers: [{ name: 'down:', down: [], problems: [] }] },
      undefined,
      undefined,
    ],
    [
      'no load balancers, drift only',
      { loadBalancers: [], drift: 2, expiring: 0, handOffs: 0 },
      '',
      { severity: 'info', title: 'health-audit: drift: 2 change(s) to converge' },
    ],
  ])('%s', (_name, f, lastSeen, want) => {
    const { notice, seen } = auditNotice(f, lastSeen);
    expect(seen).toBe(auditSummary(f));
    expect(notice && { severity: notice.severity, title: notice.title }).toEqual(want);
  });

  it('the text lists each part of the summary', () => {
    const f = { ...down, expiring: 1 };
    expect(auditNotice(f, undefined).notice?.text).toBe(
      '- mall: down: i-k8s:30250\n- 1 certificate(s) expiring',
    );
  });
});

describe('failoverNotice', () => {
  it.each<[boolean, boolean, { title: string; severity: string } | undefined]>([
    [false, false, undefined],
    [true, false, { title: 'failover: mall weights changed', severity: 'warning' }],
    [true, true, { title: 'failover: mall FAILED', severity: 'error' }],
    [false, true, { title: 'failover: mall FAILED', severity: 'error' }],
  ])('changed %s, failed %s', (changed, failed, want) => {
    expect(failoverNotice({ loadBalancerName: 'mall', changed, failed })).toEqual(want);
  });
});
