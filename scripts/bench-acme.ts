// `npm run bench -- acme`: issuing a certificate for the mall's three names from a real ACME server
// (Pebble) with DNS-01 on the local Alibaba Cloud DNS: wall time per issuance (steady state: the
// account exists, Pebble is warm) and the DNS API calls each one costs.

import { issueCertificate } from '../shared/cloud/acme';
import { Secret } from '../shared/cloud/cas';
import { localCloudLookup } from '../shared/cloud/dns-lookup';
import { RateBudget } from '../shared/cloud/rate-budget';
import { startPebble } from './local-cloud/acme/pebble';
import { connectLocalCloud } from './local-cloud/connect';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { startLocalCloud } from './local-cloud/server';

export async function acmeCase(runs = 5): Promise<Record<string, unknown>> {
  const cloud = await startLocalCloud({ scenario: 'mall', tlsFrontEnds: false });
  const dns = cloud.dns();
  if (!dns) throw new Error('local cloud without its DNS server');
  const pebble = await startPebble({ dnsServer: `${dns.host}:${dns.port}` });
  try {
    const acme = await import('acme-client');
    const accountKey = new Secret((await acme.crypto.createPrivateEcdsaKey('P-256')).toString());
    const layer = connectLocalCloud(cloud, { budget: new RateBudget() });
    const deps = {
      dns: layer.dns,
      lookup: localCloudLookup(cloud.url),
      now: () => new Date(),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
      propagationPollMs: 100,
      caTrustPem: pebble.tlsCaPem,
    };
    const request = {
      directoryUrl: pebble.directoryUrl,
      accountKey,
      domains: [...MALL.renewed.domains],
      keyType: 'ec-p256' as const,
    };
    await issueCertificate(deps, request); // first run: creates the account
    const times: number[] = [];
    let dnsCalls = { reads: 0, writes: 0 };
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      dnsCalls = (await issueCertificate(deps, request)).dnsCalls;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return {
      case: 'acme',
      names: request.domains.length,
      runs,
      issueP50Ms: Math.round(times[Math.floor(runs / 2)] ?? 0),
      issueMaxMs: Math.round(times[runs - 1] ?? 0),
      dnsReadsPerCertificate: dnsCalls.reads,
      dnsWritesPerCertificate: dnsCalls.writes,
    };
  } finally {
    await pebble.stop();
    await cloud.close();
  }
}
