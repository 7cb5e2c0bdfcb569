// X.509 facts read from the certificate itself (never from its name): fingerprint, CN, SANs, validity,
// and whether a private key belongs to it. RFC 6125 wildcard matching for "does it cover this domain".
// Pure: `now` is always passed in; error messages never carry key material.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CertificateSourceFailure } from '../errors';

/** Why a certificate or its key is refused. */
export type CertificateProblem =
  | 'malformed'
  | 'keyMalformed'
  | 'keyEncrypted'
  | 'keyMismatch'
  | 'expired'
  | 'notYetValid';

export class CertificateError extends CertificateSourceFailure {
  override name = 'CertificateError';
  constructor(
    readonly reason: CertificateProblem,
    message: string,
  ) {
    super(message, { code: reason });
  }
}

export interface ParsedCertificate {
  /** SHA-1 of the leaf, colon-separated lower-case hex, as SLB reports `Fingerprint` */
  fingerprint: string;
  /** SHA-256 of the leaf, lower-case hex without colons */
  sha256: string;
  serialNo: string;
  issuer: string;
  commonName: string;
  /** DNS subject alternative names */
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  /** certificates in the PEM (leaf first) */
  chainLength: number;
  /** the leaf alone, PEM */
  leafPem: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function field(dn: string, key: string): string {
  for (const line of dn.split('\n')) if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  return '';
}

const DAY_MS = 86_400_000;

/**
 * Whole days left before `expiresAtMs`, rounded down (0 on its last day, negative once expired): the one
 * definition every view uses, so a certificate never shows 10 days in one place and 9 in another.
 */
export function daysLeft(expiresAtMs: number, now: Date): number {
  return Math.floor((expiresAtMs - now.getTime()) / DAY_MS);
}

export function parseCertificate(pemChain: string): ParsedCertificate {
  const blocks = typeof pemChain === 'string' ? (pemChain.match(PEM_BLOCK) ?? []) : [];
  const leafPem = blocks[0];
  if (!leafPem) throw new CertificateError('malformed', 'no PEM certificate found');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
    for (const b of blocks.slice(1)) new X509Certificate(b);
  } catch {
    throw new CertificateError('malformed', 'the certificate PEM cannot be parsed as X.509');
  }
  const sans = (leaf.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  return {
    fingerprint: leaf.fingerprint.toLowerCase(),
    sha256: leaf.fingerprint256.replace(/:/g, '').toLowerCase(),
    serialNo: leaf.serialNumber.toLowerCase(),
    issuer: field(leaf.issuer, 'CN') || leaf.issuer.replace(/\n/g, ', '),
    commonName: field(leaf.subject, 'CN'),
    sans,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    chainLength: blocks.length,
    leafPem,
  };
}

/** Throws CertificateError unless the private key is a readable, unencrypted key of this certificate. */
export function checkKeyMatches(certPem: string, keyPem: string): void {
  if (typeof keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) {
    throw new CertificateError('keyMalformed', 'no PEM private key found');
  }
  if (/ENCRYPTED/.test(keyPem)) throw new CertificateError('keyEncrypted', 'the private key is encrypted');
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CertificateError('keyMalformed', 'the private key cannot be parsed');
  }
  const leaf = new X509Certificate(parseCertificate(certPem).leafPem);
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateError('keyMismatch', 'the private key does not belong to the certificate');
  }
}

/** Throws CertificateError('expired' | 'notYetValid') unless `now` is inside the validity period. */
export function checkValidAt(cert: Pick<ParsedCertificate, 'notBefore' | 'notAfter'>, now: Date): void {
  if (now < cert.notBefore)
    throw new CertificateError('notYetValid', `not valid before ${cert.notBefore.toISOString()}`);
  if (now >= cert.notAfter)
    throw new CertificateError('expired', `expired at ${cert.notAfter.toISOString()}`);
}

/**
 * RFC 6125 §6.4.3: a wildcard only in the complete left-most label, matching exactly one label.
 * `*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`.
 */
export function coversDomain(san: string, domain: string): boolean {
  const s = san.toLowerCase().replace(/\.$/, '');
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (!s.startsWith('*.')) return s === d;
  const suffix = s.slice(1); // ".example.com"
  if (!d.endsWith(suffix)) return false;
  const label = d.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

export function coversAll(sans: readonly string[], domains: readonly string[]): boolean {
  return domains.every((d) => sans.some((s) => coversDomain(s, d)));
}
