import { connect, createServer } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type IssuedCertificate, type TestCa } from '../../../scripts/local-cloud/pki';
import {
  CertificateError,
  checkKeyMatches,
  checkValidAt,
  coversAll,
  coversDomain,
  parseCertificate,
} from '../../../shared/domain/certificate';

const now = new Date('2026-11-24T00:00:00Z');
const day = 24 * 3600_000;
let ca: TestCa;
let cert: IssuedCertificate;
let other: IssuedCertificate;

beforeAll(async () => {
  ca = await createTestCa({ now });
  cert = await ca.issue({
    commonName: 'www.example.com',
    sans: ['www.example.com', '*.api.example.com'],
    notBefore: new Date(now.getTime() - day),
    notAfter: new Date(now.getTime() + 10 * day),
  });
  other = await ca.issue({
    commonName: 'x.test',
    sans: ['x.test'],
    notBefore: now,
    notAfter: new Date(now.getTime() + day),
    keyType: 'rsa',
  });
});

describe('parseCertificate', () => {
  it('reads CN, SANs, validity and an SLB-style fingerprint from the certificate itself', () => {
    const p = parseCertificate(cert.chainPem);
    expect(p.commonName).toBe('www.example.com');
    expect(p.sans).toEqual(['www.example.com', '*.api.example.com']);
    expect(p.notAfter.getTime()).toBe(now.getTime() + 10 * day);
    expect(p.fingerprint).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    expect(p.chainLength).toBe(2);
    expect(p.issuer).toContain('local test CA');
  });

  it.each([['garbage'], ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'], ['']])(
    'refuses malformed input %#',
    (pem) => {
      expect(() => parseCertificate(pem)).toThrow(expect.objectContaining({ reason: 'malformed' }));
    },
  );
});

describe('checkKeyMatches', () => {
  it('accepts the matching key', () => {
    expect(() => checkKeyMatches(cert.certPem, cert.keyPem)).not.toThrow();
    expect(() => checkKeyMatches(other.certPem, other.keyPem)).not.toThrow();
  });

  it.each([
    ['keyMismatch', () => other.keyPem],
    ['keyMalformed', () => 'not a key'],
    ['keyMalformed', () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'],
    [
      'keyEncrypted',
      () => '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n',
    ],
  ])('refuses with reason %s, without echoing the key', (reason, key) => {
    let caught: unknown;
    try {
      checkKeyMatches(cert.certPem, key());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CertificateError);
    expect((caught as CertificateError).reason).toBe(reason);
    expect((caught as Error).message).not.toContain('BEGIN');
  });
});

describe('checkValidAt', () => {
  const p = () => parseCertificate(cert.certPem);
  it.each([
    [new Date(now.getTime() - 2 * day), 'notYetValid'],
    [new Date(now.getTime() + 11 * day), 'expired'],
  ])('at %s -> %s', (at, reason) => {
    expect(() => checkValidAt(p(), at)).toThrow(expect.objectContaining({ reason }));
  });
  it('passes inside the period', () => expect(() => checkValidAt(p(), now)).not.toThrow());
});

describe('coversDomain (RFC 6125)', () => {
  it.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.Example.com', 'A.example.COM', true],
    ['www.example.com', 'www.example.com', true],
    ['www.example.com', 'example.com', false],
    ['*.example.com', 'aexample.com', false],
  ])('%s covers %s: %s', (san, domain, expected) => {
    expect(coversDomain(san, domain)).toBe(expected);
  });

  it('coversAll needs every domain covered', () => {
    expect(coversAll(['*.example.com', 'example.com'], ['example.com', 'a.example.com'])).toBe(true);
    expect(coversAll(['*.example.com'], ['example.com', 'a.example.com'])).toBe(false);
  });
});

describe('test CA', () => {
  it('issues certificates node:tls serves and a client verifies with the CA', async () => {
    const server = createServer({ cert: cert.chainPem, key: cert.keyPem }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const fingerprint = await new Promise<string>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port, servername: 'www.example.com', ca: ca.certPem },
          () => {
            resolve(socket.getPeerCertificate().fingerprint.toLowerCase());
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      expect(fingerprint).toBe(parseCertificate(cert.certPem).fingerprint);
    } finally {
      server.close();
    }
  });
});
