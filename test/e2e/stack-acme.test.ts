// `npm start`'s stack with its ACME server: Pebble beside the local cloud, asking the cloud's DNS server.
// The bundled cert-renewal function, in the local FC runtime, issues for a spec whose 443 listener and
// extension domain use `acme` sources (the account key and trust file come from the stack's environment),
// and the front end serves Pebble's certificates. No challenge record is left.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { ROOT, type Stack, startStack } from '../../scripts/stack';
import { fetchServedCertificate } from '../../shared/cloud/tls-probe';
import type { RenewalReport } from '../../shared/workflows/cert-renewal';
import { trackCloud, untrackCloud } from '../support/fidelity';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    cloudPort: 0,
    backendPorts: { k8s: 0, ecs: 0 },
    timers: 'manual',
    healthChecks: 'manual',
    acme: true,
    specText: ({ acmeDirectoryUrl }) => {
      const raw = parseYaml(readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8'));
      const https = raw.loadBalancers[0].listeners[0];
      https.certificate = { acme: { directory: acmeDirectoryUrl } };
      https.extensionDomains[0].certificate = { acme: { directory: acmeDirectoryUrl } };
      return stringify(raw);
    },
    env: { SLB_AUTOPILOT_VERIFY_DELAY_MS: '50' },
  });
  trackCloud(stack.cloud);
}, 60_000);
afterAll(async () => {
  await stack?.close();
  if (stack) untrackCloud(stack.cloud);
});

describe('the local stack with its ACME server', () => {
  it('the cert-renewal function issues from Pebble for the listener and the extension domain, which serve it', async () => {
    expect(stack.acme?.directoryUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/dir$/);
    const r = await stack.runtime.invoke('cert-renewal', { source: 'timer' });
    const report = (r.result as { report?: RenewalReport }).report;
    expect(report?.references.map((x) => [x.reference, x.action])).toEqual([
      [`${MALL.loadBalancerId}:443`, 'rotated'],
      [`${MALL.loadBalancerId}:443/${MALL.extensionDomain.domain}`, 'rotated'],
    ]);
    // The account key reached the function, and no log line carries it.
    expect(r.logs.join('\n')).not.toContain('PRIVATE KEY');
    const fe = (await stack.cloud.frontEnds()).find((f) => f.listenerPort === 443);
    for (const domain of [...MALL.https.domains, MALL.extensionDomain.domain]) {
      const leaf = await fetchServedCertificate({
        host: fe?.host ?? '',
        port: fe?.port ?? 0,
        servername: domain,
      });
      expect(leaf.issuerCN).toMatch(/^Pebble Intermediate CA/);
    }
    expect(stack.cloud.state().dnsRecords.filter((x) => x.rr.startsWith('_acme-challenge'))).toEqual([]);
  }, 60_000);
});
