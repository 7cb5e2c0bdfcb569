// The status as people read it (npm start, remote status), and the one definition of "days left".
import { describe, expect, it } from 'vitest';
import { poolText, renderStatus } from '../../../scripts/status-text';
import { daysLeft } from '../../../shared/domain/certificate';
import { renewalDue } from '../../../shared/domain/renewal';
import type { StatusReport } from '../../../shared/workflows/status';

const DAY = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');

describe('days left', () => {
  it.each([
    [10 * DAY, 10],
    [10 * DAY - 2000, 9],
    [DAY - 1, 0],
    [-1, -1],
  ])('%d ms before expiry is %d days', (ms, days) => {
    expect(daysLeft(now.getTime() + ms, now)).toBe(days);
  });

  it('is the same number in renewal’s reason and in the status', () => {
    const expires = now.getTime() + 10 * DAY - 2000;
    expect(renewalDue(expires, undefined, now.getTime(), 30).why).toBe('expires in 9 days (window 30)');
    const text = renderStatus(
      report({ expiresAt: new Date(expires).toISOString(), daysLeft: daysLeft(expires, now) }),
      now,
    );
    expect(text).toContain('(9 days left)');
  });
});

function report(
  cert: { expiresAt: string; daysLeft: number },
  failover: StatusReport['loadBalancers'][number]['groups'][number]['failover'] = { active: 'primary' },
): StatusReport {
  return {
    region: 'cn-hangzhou',
    at: now.toISOString(),
    drift: [],
    loadBalancers: [
      {
        name: 'mall',
        loadBalancerId: 'lb-1',
        exists: true,
        listeners: [
          {
            protocol: 'https',
            port: 443,
            running: true,
            certificate: { serverCertificateId: 'c-1', commonName: 'www.mall.example.com', ...cert },
            extensionDomains: [],
          },
        ],
        groups: [
          {
            name: 'mall-backends',
            backends: [
              { serverId: 'i-k8s', port: 30250, weight: 100, health: 'normal', description: 'k8s-nodeport' },
            ],
            failover,
          },
        ],
      },
    ],
  };
}

describe('status text', () => {
  it('one line per listener, group and backend, and no JSON', () => {
    const text = renderStatus(report({ expiresAt: '2026-12-11T00:00:00.000Z', daysLeft: 10 }), now);
    expect(text.split('\n')).toEqual([
      'mall lb-1 (cn-hangzhou)',
      '  HTTPS 443 running: www.mall.example.com expires 2026-12-11 (10 days left)',
      '  group mall-backends: active pool: primary',
      '    i-k8s:30250 weight 100 normal (k8s-nodeport)',
      'drift: none',
    ]);
  });

  it('says which pool is active and when a failback is due', () => {
    expect(poolText({ active: 'standby', failbackDueAt: '2026-12-01T00:00:25.000Z' }, now)).toBe(
      'active pool: standby; failback due at 00:00:25 UTC (in 25 s) if the primary stays healthy',
    );
    expect(poolText({ active: 'standby', pinned: true }, now)).toMatch(/pinned by a manual toStandby/);
    expect(poolText({ active: 'standby' }, now)).toBe(
      'active pool: standby; failback waits for the primary to be healthy',
    );
  });

  it('prints an error answer as JSON', () => {
    expect(renderStatus({ error: 'nope' }, now)).toBe('{\n  "error": "nope"\n}');
  });
});
