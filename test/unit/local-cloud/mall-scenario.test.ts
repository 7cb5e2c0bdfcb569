import { describe, expect, it } from 'vitest';
import { mallScenario } from '../../../scripts/local-cloud/scenarios/mall';
import { MALL } from '../../../scripts/local-cloud/scenarios/mall-fixture';
import { checkKeyMatches, coversAll, parseCertificate } from '../../../shared/domain/certificate';

const now = new Date('2026-11-24T08:00:00Z');
const DAY = 86_400_000;

describe('mall scenario', () => {
  it('binds certificates that expire in 10 days, with a renewed one covering every domain in CAS', async () => {
    const state = await mallScenario(now);
    const https = state.listeners.find((l) => l.listenerProtocol === 'https')!;
    const bound = [https.serverCertificateId, state.domainExtensions[0]?.serverCertificateId].map(
      (id) => state.serverCertificates.find((c) => c.serverCertificateId === id)!,
    );
    for (const c of bound) {
      expect(c.expireTimeStamp - now.getTime()).toBe(MALL.expiringInDays * DAY);
      expect(parseCertificate(c.certificatePem).fingerprint).toBe(c.fingerprint);
      checkKeyMatches(c.certificatePem, c.privateKeyPem);
    }
    expect(coversAll(bound[0]!.subjectAlternativeNames, MALL.https.domains)).toBe(true);
    const renewed = state.casCertificates.find((c) => c.certId === MALL.renewed.certId)!;
    expect(coversAll(renewed.sans, [...MALL.https.domains, MALL.extensionDomain.domain])).toBe(true);
    expect(renewed.notAfter).toBeGreaterThan(now.getTime() + 80 * DAY);
    expect(state.casCertificates.find((c) => c.certId === MALL.expiredCas.certId)!.notAfter).toBeLessThan(
      now.getTime(),
    );
  });

  it('holds K8S at weight 100 and the ECS standby at weight 0 behind both listeners', async () => {
    const state = await mallScenario(now);
    expect(state.vServerGroups[0]?.backendServers.map((b) => [b.serverId, b.port, b.weight])).toEqual([
      [MALL.k8s.serverId, 30250, 100],
      [MALL.ecs.serverId, 8050, 0],
    ]);
    expect(state.listeners.map((l) => [l.listenerProtocol, l.listenerPort, l.status])).toEqual([
      ['https', 443, 'running'],
      ['http', 80, 'running'],
    ]);
  });
});
