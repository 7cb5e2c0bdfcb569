// Turns a spec's certificate source into an SLB server certificate id in the load balancer's region:
// `serverCertificateId` is checked to exist; a CAS certificate (by id, or the valid one with the latest
// expiry covering a domain) or a PEM pair (file or environment variable) is validated from the
// certificate itself (parse, validity, key match, SAN coverage), then reused when the region already
// holds a certificate with the same fingerprint, or uploaded once, named and tagged with our marker.
// PEM files are read safely (regular files, 64 KiB, a timeout); an unreadable PEM source, file or
// variable, gets one message that does not say why. The provisioning API refuses PEM sources outright.
// Private keys stay inside Secret / local variables: no error or log line carries them.
// An `acme` source is issued (shared/cloud/acme.ts) once per run per directory and domain set, then goes
// the PEM way; a resolver that may not issue (dry run) reports what it would issue instead.

import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { AcmeIssueRequest, IssuedCertificate } from '../cloud/acme';
import { certIdOf } from '../cloud/acme-ari';
import type { CasClient } from '../cloud/cas';
import { Secret } from '../cloud/cas';
import type { SlbClient } from '../cloud/slb';
import type { ServerCertificate } from '../cloud/slb/certificates';
import { ACME_ARI_ID_TAG } from '../domain/acme-renewal';
import {
  CertificateError,
  checkKeyMatches,
  checkValidAt,
  coversAll,
  coversDomain,
  parseCertificate,
} from '../domain/certificate';
import { sameFingerprint } from '../domain/keys';
import { acmeDirectoryOf, type CertificateSource } from '../domain/spec';
import { CertificateSourceFailure, errorText, findCause } from '../errors';

/** 64 KiB: a certificate chain is a few KiB; anything bigger is not one (and /dev/zero never ends). */
export const MAX_CERTIFICATE_FILE_BYTES = 64 * 1024;
/** A local file answers in milliseconds; a slow one (a stuck network mount) must not hold the run. */
export const CERTIFICATE_READ_TIMEOUT_MS = 5000;
const NOT_READABLE_FILE = 'not a readable certificate file';
const NOT_READABLE_VARIABLE = 'not a readable certificate (environment variable unset or not PEM)';

export interface CertificateFileLimits {
  maxBytes?: number;
  timeoutMs?: number;
}

/**
 * Reads a PEM file for the operator CLI and the deployed spec: a regular file only (checked before
 * opening, since opening a FIFO blocks and opening a device can act on it, and again on the open
 * descriptor, which is what is read), at most `maxBytes`, counted while reading, within `timeoutMs`.
 * Symbolic links are followed (certbot's live/ directory is links into archive/); what they point at
 * must be a regular file. Rejects with a bare Error; callers turn every failure into one message.
 */
export async function readCertificateFile(path: string, limits: CertificateFileLimits = {}): Promise<string> {
  const maxBytes = limits.maxBytes ?? MAX_CERTIFICATE_FILE_BYTES;
  const timeoutMs = limits.timeoutMs ?? CERTIFICATE_READ_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('read timed out')), timeoutMs);
  });
  const read = async (): Promise<string> => {
    const before = await stat(path);
    if (!before.isFile() || before.size > maxBytes) throw new Error('not a regular file of the allowed size');
    // O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it does not block.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.ino !== before.ino || st.dev !== before.dev)
        throw new Error('the file changed while opening');
      const buf = Buffer.alloc(maxBytes + 1);
      let length = 0;
      while (length < buf.length) {
        const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > maxBytes) throw new Error('larger than allowed');
      return buf.subarray(0, length).toString('utf8');
    } finally {
      await handle.close();
    }
  };
  try {
    return await Promise.race([read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class CertificateSourceError extends CertificateSourceFailure {
  override name = 'CertificateSourceError';
  /** an ACME CA's rate limit: when it said to try again */
  readonly retryAfter?: Date;
  constructor(
    /** where in the spec, e.g. `loadBalancers[mall].listeners[443].certificate` */
    readonly where: string,
    message: string,
    options?: { cause?: unknown; retryAfter?: Date },
  ) {
    // 422 over HTTP: the spec is well-formed, but its certificate source cannot give a usable certificate.
    super(`${where}: ${message}`, {
      cause: options?.cause,
      field: where,
      status: 422,
      code: 'InvalidCertificateSource',
    });
    if (options?.retryAfter) this.retryAfter = options.retryAfter;
  }
}

/** What an ACME source asks of the issuer; the deployment binds the account key, DNS and lookup. */
export type AcmeOrder = Omit<AcmeIssueRequest, 'accountKey' | 'eab'> & {
  /** pins the zone the challenge records go into */
  dnsZone?: string;
  eab?: { kid: string; hmacKey: Secret };
};

export interface AcmeIssuer {
  /** false when the deployment has no ACME account key: acme sources fail, named */
  configured: boolean;
  issue(order: AcmeOrder): Promise<IssuedCertificate>;
  /** the CA's suggested renewal window (RFC 9773) for a certificate's ARI id, when the CA offers one */
  renewalInfo?(
    directoryUrl: string,
    certId: string,
  ): Promise<{ window: { start: Date; end: Date } } | undefined>;
}

/** Tells an AcmeIssueError's rate limit apart without loading the ACME module. */
const retryAfterOf = (err: unknown): Date | undefined =>
  (err as { reason?: unknown }).reason === 'rateLimited'
    ? ((err as { retryAfter?: Date }).retryAfter ?? undefined)
    : undefined;

export interface CertificateResolverOptions {
  slb: SlbClient;
  cas: CasClient;
  regionId: string;
  now: () => Date;
  env: Record<string, string | undefined>;
  /** bounds of a PEM file read (tests shorten the timeout) */
  fileLimits?: CertificateFileLimits;
  ownership: { tagKey: string; tagValue: string; namePrefix: string };
  /** ACME issuance for `acme` sources (absent: they fail, named) */
  acme?: AcmeIssuer;
  /** false (dry run): an `acme` source is not issued, its commit only says what would be */
  issue?: boolean;
  /** copies of one certificate the caller is deleting (duplicates): never reused for a new reference */
  avoid?: ReadonlySet<string>;
}

export interface ResolvedCertificate {
  serverCertificateId: string;
  /** sha-1, colon-separated, as SLB reports it */
  fingerprint?: string;
  /** true when this run uploaded it */
  uploaded: boolean;
}

/** What the certificate itself says (never its name); for an SLB id source, SLB's record of it. */
export interface CertificateFacts {
  fingerprint: string;
  commonName: string;
  sans: string[];
  notBefore?: Date;
  notAfter: Date;
}

/**
 * Reuses or uploads the prepared certificate; `facts` tell what it is before anything is written.
 * `wouldIssue`: a dry run's acme source, not issued; its facts are only the names, and it cannot commit.
 */
export type Commit = (() => Promise<ResolvedCertificate>) & {
  facts: CertificateFacts;
  wouldIssue?: string;
  /** issued by this run (ACME): the CA's current certificate, wanted even when it expires no later */
  issuedNow?: boolean;
};

export interface CertificateResolver {
  /**
   * Reads and checks the source without writing; the returned commit reuses or uploads it.
   * `domains`: what the certificate must cover (the listener's domains, or the extension domain).
   */
  prepare(source: CertificateSource, domains: readonly string[], where: string): Promise<Commit>;
  /** SLB certificates uploaded by this resolver */
  uploads(): ServerCertificate[];
  /** CAS's listing, read once per resolver */
  casCertificates(): ReturnType<CasClient['listCertificates']>;
}

/** SLB names: 1-80 characters. `<prefix><cn>-<yyyymmdd>` with the wildcard spelled out. */
export function uploadName(prefix: string, commonName: string, notAfter: Date): string {
  const cn = commonName.replace(/^\*\./, 'wildcard.').replace(/[^A-Za-z0-9.-]/g, '-');
  const date = notAfter.toISOString().slice(0, 10).replace(/-/g, '');
  const tail = `-${date}`;
  return `${prefix}${cn}`.slice(0, 80 - tail.length) + tail;
}

export function createCertificateResolver(o: CertificateResolverOptions): CertificateResolver {
  return new RunCertificateResolver(o);
}

type ParsedCertificate = ReturnType<typeof parseCertificate>;
type CasDetail = Awaited<ReturnType<CasClient['getCertificate']>>;
type AcmeSource = Extract<CertificateSource, { acme: unknown }>['acme'];
type PemSource = Extract<CertificateSource, { pem: unknown }>['pem'];
type Tags = { key: string; value: string }[];

const factsOf = (c: ParsedCertificate): CertificateFacts => ({
  fingerprint: c.fingerprint,
  commonName: c.commonName,
  sans: c.sans,
  notBefore: c.notBefore,
  notAfter: c.notAfter,
});

/** Parses a PEM pair and checks it (validity now, the key matches, the SANs cover `domains`). */
function checkedPem(certPem: string, key: Secret, domains: readonly string[], where: string, now: Date) {
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(certPem);
    checkValidAt(parsed, now);
    checkKeyMatches(certPem, key.reveal());
  } catch (err) {
    if (err instanceof CertificateError) throw new CertificateSourceError(where, err.message, { cause: err });
    throw err;
  }
  if (domains.length > 0 && !coversAll(parsed.sans, domains)) {
    const uncovered = domains.filter((d) => !parsed.sans.some((s) => coversDomain(s, d)));
    throw new CertificateSourceError(
      where,
      `the certificate (SANs ${parsed.sans.join(', ') || 'none'}) does not cover ${uncovered.join(', ')}`,
    );
  }
  return parsed;
}

/** CAS's valid certificate with the latest expiry covering the domain and every one it must serve. */
async function bestCasCertificate(
  listing: ReturnType<CasClient['listCertificates']>,
  domain: string,
  domains: readonly string[],
  now: number,
  where: string,
): Promise<number> {
  const need = domains.length > 0 ? domains : [domain];
  const best = (await listing)
    .filter((c) => !c.expired && c.notBefore <= now && c.notAfter > now)
    .filter((c) => coversAll(c.sans.length > 0 ? c.sans : [c.commonName], [domain, ...need]))
    .sort((a, b) => b.notAfter - a.notAfter)[0];
  if (!best)
    throw new CertificateSourceError(
      where,
      `CAS holds no valid certificate covering ${[...new Set([domain, ...need])].join(', ')}`,
    );
  return best.certId;
}

/** Whether this resolver may issue for an ACME source at all: named failures otherwise. */
function checkAcmeIssuer(acme: AcmeIssuer | undefined, where: string): asserts acme is AcmeIssuer {
  if (!acme)
    throw new CertificateSourceError(where, 'ACME certificates are issued by the cert-renewal function only');
  if (!acme.configured)
    throw new CertificateSourceError(
      where,
      'no ACME account key: set SLB_AUTOPILOT_ACME_ACCOUNT_KEY (`npm run acme -- account-key` makes one)',
    );
}

/** A dry run's ACME source: its names as facts, and a commit that refuses. */
function wouldIssueCommit(where: string, directoryUrl: string, names: string[]): Commit {
  const wouldIssue = `would issue via ACME (${directoryUrl}) for ${names.join(', ')}`;
  const commit = async (): Promise<ResolvedCertificate> => {
    throw new CertificateSourceError(where, `${wouldIssue}: a dry run does not issue`);
  };
  return Object.assign(commit, {
    facts: { fingerprint: '', commonName: names[0] ?? '', sans: names, notAfter: new Date(Number.NaN) },
    wouldIssue,
  });
}

/** The ARI id tag of an issued certificate (SLB tag values: at most 128 characters). */
function ariTags(certPem: string): Tags {
  const ariId = certIdOf(certPem);
  return ariId && ariId.length <= 128 ? [{ key: ACME_ARI_ID_TAG, value: ariId }] : [];
}

/**
 * One run's resolver. Its state makes every read and write happen at most once per run, however many
 * references share it: the region's certificate listing, CAS's listing and each CAS detail, each
 * fingerprint's reuse-or-upload, each ACME issuance (per directory and domain set). A failed CAS read or
 * upload is forgotten, so a later reference may try again. The public methods are own properties: they
 * may be passed around unbound.
 */
class RunCertificateResolver implements CertificateResolver {
  private regionCertificates: Promise<ServerCertificate[]> | undefined;
  private readonly byFingerprint = new Map<string, Promise<ResolvedCertificate>>();
  private readonly uploaded: ServerCertificate[] = [];
  private casList: ReturnType<CasClient['listCertificates']> | undefined;
  private readonly casDetails = new Map<number, Promise<CasDetail>>();
  private readonly issuances = new Map<string, Promise<IssuedCertificate>>();

  constructor(private readonly o: CertificateResolverOptions) {}

  prepare = async (source: CertificateSource, domains: readonly string[], where: string): Promise<Commit> => {
    if ('serverCertificateId' in source) return this.fromSlb(source.serverCertificateId, where);
    if ('cas' in source) return this.fromCas(source.cas, domains, `${where}.cas`);
    if ('acme' in source) return this.fromAcme(source.acme, domains, `${where}.acme`);
    return await this.fromPem(source.pem, domains, where);
  };

  uploads = (): ServerCertificate[] => [...this.uploaded];

  casCertificates = (): ReturnType<CasClient['listCertificates']> => {
    this.casList ??= this.o.cas.listCertificates();
    return this.casList;
  };

  private inRegion(): Promise<ServerCertificate[]> {
    this.regionCertificates ??= this.o.slb.describeServerCertificates({ regionId: this.o.regionId });
    return this.regionCertificates;
  }

  /** An existing SLB certificate: it must be in the region; its facts are SLB's record. */
  private async fromSlb(serverCertificateId: string, where: string): Promise<Commit> {
    const found = (await this.inRegion()).find((c) => c.serverCertificateId === serverCertificateId);
    if (!found)
      throw new CertificateSourceError(
        `${where}.serverCertificateId`,
        `no server certificate ${serverCertificateId} in ${this.o.regionId}`,
      );
    const resolved = {
      serverCertificateId: found.serverCertificateId,
      fingerprint: found.fingerprint,
      uploaded: false,
    };
    return Object.assign(async () => resolved, {
      facts: {
        fingerprint: found.fingerprint,
        commonName: found.commonName,
        sans: found.subjectAlternativeNames,
        notAfter: new Date(found.expireTimeStamp),
      },
    });
  }

  /** Validates a PEM pair for the domains; the commit reuses or uploads it (once per fingerprint). */
  private usePem(
    certPem: string,
    key: Secret,
    domains: readonly string[],
    where: string,
    /** more tags for the upload (an issued certificate's ARI id) */
    extraTags: Tags = [],
  ): Commit {
    const parsed = checkedPem(certPem, key, domains, where, this.o.now());
    const commit = () => this.reuseOrUpload(parsed, certPem, key, extraTags);
    return Object.assign(commit, { facts: factsOf(parsed) });
  }

  private reuseOrUpload(parsed: ParsedCertificate, certPem: string, key: Secret, extraTags: Tags) {
    const existing = this.byFingerprint.get(parsed.fingerprint);
    if (existing) return existing;
    const pending = this.reuseOrUploadNow(parsed, certPem, key, extraTags);
    this.byFingerprint.set(parsed.fingerprint, pending);
    // A failed upload may be retried by a later reference.
    pending.catch(() => this.byFingerprint.delete(parsed.fingerprint));
    return pending;
  }

  private async reuseOrUploadNow(
    parsed: ParsedCertificate,
    certPem: string,
    key: Secret,
    extraTags: Tags,
  ): Promise<ResolvedCertificate> {
    const { fingerprint } = parsed;
    const same = (await this.inRegion()).find(
      (c) => sameFingerprint(c.fingerprint, fingerprint) && !this.o.avoid?.has(c.serverCertificateId),
    );
    if (same) return { serverCertificateId: same.serverCertificateId, fingerprint, uploaded: false };
    const { ownership, regionId } = this.o;
    const cert = await this.o.slb.uploadServerCertificate({
      regionId,
      serverCertificateName: uploadName(ownership.namePrefix, parsed.commonName, parsed.notAfter),
      tags: [{ key: ownership.tagKey, value: ownership.tagValue }, ...extraTags],
      pem: { certificate: certPem, privateKey: key.reveal() },
    });
    this.uploaded.push(cert);
    return { serverCertificateId: cert.serverCertificateId, fingerprint, uploaded: true };
  }

  private async fromCas(
    ref: { certId: number } | { domain: string },
    domains: readonly string[],
    where: string,
  ): Promise<Commit> {
    const certId =
      'certId' in ref
        ? ref.certId
        : await bestCasCertificate(
            this.casCertificates(),
            ref.domain,
            domains,
            this.o.now().getTime(),
            where,
          );
    const detail = await this.casDetail(certId, where);
    return this.usePem(detail.certPem, detail.privateKey, domains, where);
  }

  private async casDetail(certId: number, where: string): Promise<CasDetail> {
    let pending = this.casDetails.get(certId);
    if (!pending) {
      pending = this.o.cas.getCertificate(certId);
      this.casDetails.set(certId, pending);
      pending.catch(() => this.casDetails.delete(certId));
    }
    try {
      return await pending;
    } catch (err) {
      throw new CertificateSourceError(where, `CAS certificate ${certId} cannot be read`, { cause: err });
    }
  }

  /** A PEM file or variable, or undefined however it is unreadable. */
  private async readPem(file: boolean, name: string): Promise<string | undefined> {
    if (file) return readCertificateFile(name, this.o.fileLimits).catch(() => undefined);
    const v = this.o.env[name];
    return v && Buffer.byteLength(v) <= MAX_CERTIFICATE_FILE_BYTES ? v : undefined;
  }

  private async fromPem(ref: PemSource, domains: readonly string[], where: string): Promise<Commit> {
    // One answer for every way a source can be unreadable (missing, forbidden, not a regular file, too
    // big, slow, unset, not PEM): the error must not tell a caller what exists on the machine or in
    // the environment. No `cause` either, for the same reason (it would carry ENOENT vs EACCES).
    const file = 'certFile' in ref;
    const notReadable = file ? NOT_READABLE_FILE : NOT_READABLE_VARIABLE;
    const certField = `${where}.pem.${file ? 'certFile' : 'certEnv'}`;
    const keyField = `${where}.pem.${file ? 'keyFile' : 'keyEnv'}`;
    const certPem = await this.readPem(file, file ? ref.certFile : ref.certEnv);
    if (certPem === undefined) throw new CertificateSourceError(certField, notReadable);
    const keyPem = await this.readPem(file, file ? ref.keyFile : ref.keyEnv);
    if (keyPem === undefined) throw new CertificateSourceError(keyField, notReadable);
    try {
      return this.usePem(certPem, new Secret(keyPem), domains, where);
    } catch (err) {
      const reason = findCause(err, CertificateError)?.reason;
      if (reason === 'malformed') throw new CertificateSourceError(certField, notReadable);
      if (reason === 'keyMalformed' || reason === 'keyEncrypted')
        throw new CertificateSourceError(keyField, notReadable);
      throw err;
    }
  }

  private async fromAcme(a: AcmeSource, domains: readonly string[], where: string): Promise<Commit> {
    const names = [...new Set((a.domains ?? domains).map((d) => d.toLowerCase()))].sort();
    const directoryUrl = acmeDirectoryOf(a);
    checkAcmeIssuer(this.o.acme, where);
    let hmacKey: Secret | undefined;
    if (a.eab) {
      const v = this.o.env[a.eab.hmacKeyEnv];
      if (!v) throw new CertificateSourceError(`${where}.eab.hmacKeyEnv`, 'environment variable unset');
      hmacKey = new Secret(v);
    }
    if (this.o.issue === false) return wouldIssueCommit(where, directoryUrl, names);
    const issued = await this.issueOnce(
      this.o.acme,
      {
        directoryUrl,
        domains: names,
        keyType: a.keyType,
        ...(a.email ? { email: a.email } : {}),
        ...(a.dnsZone ? { dnsZone: a.dnsZone } : {}),
        ...(a.eab && hmacKey ? { eab: { kid: a.eab.kid, hmacKey } } : {}),
      },
      where,
    );
    const commit = this.usePem(issued.certPem, issued.privateKey, domains, where, ariTags(issued.certPem));
    return Object.assign(commit, { issuedNow: true });
  }

  /** Issues once per directory and domain set for the whole run. */
  private async issueOnce(acme: AcmeIssuer, order: AcmeOrder, where: string): Promise<IssuedCertificate> {
    const key = `${order.directoryUrl} ${order.domains.join(',')}`;
    let pending = this.issuances.get(key);
    if (!pending) {
      pending = acme.issue(order);
      this.issuances.set(key, pending);
    }
    try {
      return await pending;
    } catch (err) {
      const retryAfter = retryAfterOf(err);
      throw new CertificateSourceError(
        where,
        `ACME issuance for ${order.domains.join(', ')} failed: ${errorText(err)}`,
        { cause: err, ...(retryAfter ? { retryAfter } : {}) },
      );
    }
  }
}
