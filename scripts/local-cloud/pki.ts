// A local test CA for the local cloud: issues real X.509 server certificates at start-up (so no
// expiring fixtures live in the repository), which the TLS front ends can serve and clients can verify.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface IssuedCertificate {
  certPem: string;
  /** PKCS#8 */
  keyPem: string;
  /** leaf + CA */
  chainPem: string;
}

export interface IssueOptions {
  commonName: string;
  sans: readonly string[];
  notBefore: Date;
  notAfter: Date;
  keyType?: 'rsa' | 'ec';
}

export interface TestCa {
  certPem: string;
  issue(options: IssueOptions): Promise<IssuedCertificate>;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function keyPem(pkcs8: ArrayBuffer): string {
  const b64 = Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

let serial = 1;
const nextSerial = () => `${Date.now().toString(16)}${(serial++).toString(16).padStart(4, '0')}`;

export async function createTestCa(options: { commonName?: string; now: Date }): Promise<TestCa> {
  const caKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${options.commonName ?? 'slb-autopilot local test CA'}, O=slb-autopilot`,
    notBefore: new Date(options.now.getTime() - 24 * 3600_000),
    notAfter: new Date(options.now.getTime() + 3 * 365 * 24 * 3600_000),
    keys: caKeys as webcrypto.CryptoKeyPair,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const certPem = caCert.toString('pem');
  return {
    certPem,
    async issue(o) {
      const alg = o.keyType === 'rsa' ? RSA : EC;
      const keys = (await webcrypto.subtle.generateKey(alg, true, [
        'sign',
        'verify',
      ])) as webcrypto.CryptoKeyPair;
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: nextSerial(),
        subject: `CN=${o.commonName}`,
        issuer: caCert.subject,
        notBefore: o.notBefore,
        notAfter: o.notAfter,
        publicKey: keys.publicKey,
        signingKey: (caKeys as webcrypto.CryptoKeyPair).privateKey,
        signingAlgorithm: EC,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          // An IPv4 literal becomes an IP SAN (a loopback server such as the local ACME server).
          new x509.SubjectAlternativeNameExtension(
            o.sans.map((value) => ({ type: /^\d+\.\d+\.\d+\.\d+$/.test(value) ? 'ip' : 'dns', value })),
          ),
        ],
      });
      const leafPem = leaf.toString('pem');
      return {
        certPem: `${leafPem}\n`,
        keyPem: keyPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
        chainPem: `${leafPem}\n${certPem}\n`,
      };
    },
  };
}
