// Certificate issuance from an ACME CA (Let's Encrypt, or any RFC 8555 CA) with DNS-01 challenges on
// Alibaba Cloud DNS: find each name's zone (before ordering), check CAA, clear stale challenge records,
// order, publish one `_acme-challenge` TXT per authorization, wait until the zone's authoritative
// servers answer every value, let the CA validate, finalize with a CSR whose key never leaves this
// process, download the chain, and remove every TXT record it added, after failures too.
//
// acme-client does the protocol; its built-in retry (which would sleep out a rate limit's Retry-After,
// hours, inside a function) is turned off: a rate-limited order fails at once with the CA's retry time,
// and the next scheduled run tries again from then.

import { namedConstants } from '../domain/names';
import { CertificateSourceFailure, errorText } from '../errors';
import { fetchRenewalInfo, type RenewalInfo } from './acme-ari';
import { Secret } from './cas';
import type { DnsClient, DnsZone } from './dns';

/** The pieces of acme-client this module uses (loaded lazily: only issuing runs pay for it). */
type AcmeModule = typeof import('acme-client');

export type AcmeKeyType = 'ec-p256' | 'rsa-2048';

export interface AcmeIssueRequest {
  directoryUrl: string;
  /** the ACME account's key (PEM); the account is found or created with it */
  accountKey: Secret;
  email?: string;
  /** names for the certificate; `*.x` wildcards are fine (DNS-01) */
  domains: string[];
  keyType: AcmeKeyType;
  /** External Account Binding, for CAs that require it */
  eab?: { kid: string; hmacKey: Secret };
  /** CAA identities of the CA (RFC 8659 `issue` values); default: the directory's meta.caaIdentities */
  caaIdentities?: string[];
}

export interface AcmeIssueDeps {
  dns: DnsClient;
  /** the values of `type` records at `name`, asked of the zone's authoritative servers */
  lookup: (zone: DnsZone, name: string, type: 'TXT' | 'CAA') => Promise<string[]>;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** how long published TXT records may take to reach every authoritative server (default 120 s) */
  propagationTimeoutMs?: number;
  propagationPollMs?: number;
  /** a PEM bundle to trust for the CA's HTTPS (local runs: the local ACME server's front door) */
  caTrustPem?: string;
  log?: (event: Record<string, unknown>) => void;
  /** acme-client, injectable so the module loads only when needed */
  acme?: () => Promise<AcmeModule>;
}

export interface IssuedCertificate {
  /** leaf first, then the chain */
  certPem: string;
  privateKey: Secret;
  domains: string[];
  /** DNS API calls this issuance made (reads, writes) */
  dnsCalls: { reads: number; writes: number };
}

export const ACME_ERRORS = namedConstants(
  'noZone',
  'caaForbids',
  'propagation',
  'challengeInvalid',
  'rateLimited',
  'ca',
);

export type AcmeErrorKind = (typeof ACME_ERRORS)[keyof typeof ACME_ERRORS];

export class AcmeIssueError extends CertificateSourceFailure {
  override name = 'AcmeIssueError';
  /** which part of issuing failed */
  readonly reason: AcmeErrorKind;
  /** rateLimited: when the CA said to try again */
  readonly retryAfter?: Date;
  constructor(kind: AcmeErrorKind, message: string, o: { cause?: unknown; retryAfter?: Date } = {}) {
    super(message, { cause: o.cause, code: kind });
    this.reason = kind;
    if (o.retryAfter) this.retryAfter = o.retryAfter;
  }
}

/** Challenge records older than this are leftovers of a run that died (an order lives far less). */
export const STALE_CHALLENGE_MS = 60 * 60_000;

const bare = (domain: string) => domain.replace(/^\*\./, '').toLowerCase();

/** The zone a name lives in: the longest zone that is the name or a parent of it. */
export function zoneOf(zones: readonly DnsZone[], domain: string): DnsZone | undefined {
  const name = bare(domain);
  return zones
    .filter((z) => name === z.domainName || name.endsWith(`.${z.domainName}`))
    .sort((a, b) => b.domainName.length - a.domainName.length)[0];
}

/** `_acme-challenge.www.example.com` in zone `example.com` -> `_acme-challenge.www` */
export function challengeRr(zone: DnsZone, domain: string): string {
  const name = bare(domain);
  return name === zone.domainName
    ? '_acme-challenge'
    : `_acme-challenge.${name.slice(0, -(zone.domainName.length + 1))}`;
}

interface CaaRecord {
  tag: string;
  value: string;
}

function parseCaa(text: string): CaaRecord | undefined {
  const m = /^\d+\s+(\S+)\s+"?([^"]*)"?$/.exec(text.trim());
  return m?.[1] ? { tag: m[1].toLowerCase(), value: (m[2] ?? '').trim() } : undefined;
}

/**
 * RFC 8659: the relevant CAA set is the first found climbing from the name toward the root; within the
 * zone we can ask. Empty set: anyone may issue. `issuewild` governs wildcards when present.
 */
export async function checkCaa(
  lookup: AcmeIssueDeps['lookup'],
  zone: DnsZone,
  domain: string,
  identities: readonly string[],
): Promise<void> {
  const wildcard = domain.startsWith('*.');
  let name = bare(domain);
  for (;;) {
    const records = (await lookup(zone, name, 'CAA')).flatMap((t) => parseCaa(t) ?? []);
    if (records.length > 0) {
      const wild = records.filter((r) => r.tag === 'issuewild');
      const relevant = wildcard && wild.length > 0 ? wild : records.filter((r) => r.tag === 'issue');
      if (relevant.length === 0) return; // only iodef or other tags: no restriction on issuance
      const allowed = relevant.map((r) => r.value.split(';')[0]?.trim() ?? '');
      if (allowed.some((a) => identities.includes(a.toLowerCase()))) return;
      throw new AcmeIssueError(
        ACME_ERRORS.caaForbids,
        `CAA at ${name} allows only ${allowed.map((a) => a || '(no CA)').join(', ')} to issue for ${domain}; the CA is ${identities.join(', ') || 'unnamed (no caaIdentities)'}`,
      );
    }
    if (name === zone.domainName) return;
    name = name.slice(name.indexOf('.') + 1);
  }
}

/** Problem documents the CA sent, and its Retry-After, kept beside acme-client's plain errors. */
interface ProblemLog {
  now: () => Date;
  last?: { type: string; detail: string; retryAfter?: Date };
}

function parseRetryAfter(v: unknown, now: Date): Date | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return new Date(now.getTime() + Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t) : undefined;
}

/** The problem log of the issuance in progress (issuances in one process run one at a time). */
let activeProblems: ProblemLog | undefined;
const patched = new WeakSet<object>();

async function loadAcme(deps: AcmeIssueDeps, problems: ProblemLog): Promise<AcmeModule> {
  const acme = deps.acme ? await deps.acme() : await import('acme-client');
  const mod = ((acme as { default?: AcmeModule }).default ?? acme) as AcmeModule;
  const axios = mod.axios as AcmeModule['axios'] & { defaults: { acmeSettings?: Record<string, number> } };
  if (axios.defaults.acmeSettings) axios.defaults.acmeSettings.retryMaxAttempts = 0;
  if (deps.caTrustPem) {
    const { Agent } = await import('node:https');
    axios.defaults.httpsAgent = new Agent({ ca: deps.caTrustPem });
  }
  activeProblems = problems;
  if (!patched.has(axios)) {
    patched.add(axios);
    axios.interceptors.response.use((res) => {
      const data = res.data as { type?: unknown; detail?: unknown } | undefined;
      if (activeProblems && res.status >= 400 && data && typeof data.type === 'string') {
        const retryAfter = parseRetryAfter(res.headers?.['retry-after'], activeProblems.now());
        activeProblems.last = {
          type: data.type,
          detail: typeof data.detail === 'string' ? data.detail : '',
          ...(retryAfter ? { retryAfter } : {}),
        };
      }
      return res;
    });
  }
  return mod;
}

/** acme-client's errors as ours: a rate limit keeps the CA's retry time. */
function classify(err: unknown, problems: ProblemLog, step: string): AcmeIssueError {
  if (err instanceof AcmeIssueError) return err;
  const p = problems.last;
  if (p?.type.endsWith(':rateLimited'))
    return new AcmeIssueError(ACME_ERRORS.rateLimited, `${step}: the CA's rate limit: ${p.detail}`, {
      cause: err,
      ...(p.retryAfter ? { retryAfter: p.retryAfter } : {}),
    });
  const message = errorText(err);
  return new AcmeIssueError(ACME_ERRORS.ca, `${step}: ${message}`, { cause: err });
}

type AcmeClient = InstanceType<AcmeModule['Client']>;
type AcmeOrder = Awaited<ReturnType<AcmeClient['createOrder']>>;
type AcmeChallenge = Parameters<AcmeClient['completeChallenge']>[0];

/** A TXT name and the values every authoritative server must answer for it. */
interface ExpectedTxt {
  zone: DnsZone;
  fqdn: string;
  values: string[];
}

/** One issuance's steps over its shared state: the DNS calls it made and the records it added. */
class Issuance {
  readonly calls = { reads: 0, writes: 0 };
  /** TXT records this run added: every one goes at the end, after failures too */
  readonly added: string[] = [];
  readonly problems: ProblemLog;
  private readonly log: (event: Record<string, unknown>) => void;

  constructor(
    private readonly deps: AcmeIssueDeps,
    readonly domains: string[],
  ) {
    this.problems = { now: deps.now };
    this.log = deps.log ?? (() => {});
  }

  /** 1. Every name's zone, before anything is ordered. */
  async zones(): Promise<{ all: DnsZone[]; byDomain: Map<string, DnsZone> }> {
    const all = await this.deps.dns.listZones();
    this.calls.reads++;
    const byDomain = new Map<string, DnsZone>();
    for (const d of this.domains) {
      const z = zoneOf(all, d);
      if (!z)
        throw new AcmeIssueError(
          ACME_ERRORS.noZone,
          `acme: ${d} is in no Alibaba Cloud DNS zone of this account (zones: ${all.map((x) => x.domainName).join(', ') || 'none'})`,
        );
      byDomain.set(d, z);
    }
    return { all, byDomain };
  }

  /** 2. CAA, with the CA's own identities (the request's, else the directory's meta). */
  async checkCaa(client: AcmeClient, byDomain: Map<string, DnsZone>, given?: string[]): Promise<void> {
    let identities = given;
    if (!identities) {
      try {
        // acme-client reads the directory's meta through its HTTP client (not in its typings).
        const http = (client as unknown as { http: { getMetaField(f: string): Promise<unknown> } }).http;
        const found = await http.getMetaField('caaIdentities');
        identities = Array.isArray(found) ? found.map(String) : [];
      } catch (err) {
        throw classify(err, this.problems, 'directory');
      }
    }
    const lower = identities.map((i) => i.toLowerCase());
    for (const d of this.domains) await checkCaa(this.deps.lookup, byDomain.get(d) as DnsZone, d, lower);
  }

  /** 3. Leftover challenge records of a run that died are removed first. */
  async clearStale(byDomain: Map<string, DnsZone>): Promise<void> {
    const names = new Map<string, { zone: DnsZone; rr: string }>();
    for (const d of this.domains) {
      const zone = byDomain.get(d) as DnsZone;
      const rr = challengeRr(zone, d);
      names.set(`${zone.domainName}/${rr}`, { zone, rr });
    }
    for (const { zone, rr } of names.values()) {
      const existing = await this.deps.dns.listTxtRecords(zone.domainName, rr);
      this.calls.reads++;
      for (const r of existing)
        if (this.deps.now().getTime() - r.createdAt > STALE_CHALLENGE_MS) {
          await this.deps.dns.deleteRecord(r.recordId);
          this.calls.writes++;
          this.log({
            acme: 'removed stale challenge record',
            zone: zone.domainName,
            rr,
            recordId: r.recordId,
          });
        }
    }
  }

  /** The account key names the account: find it (RFC 8555 §7.3.1 onlyReturnExisting), else create it. */
  async account(client: AcmeClient, email: string | undefined): Promise<void> {
    try {
      await client.createAccount({ onlyReturnExisting: true });
    } catch {
      try {
        await client.createAccount({
          termsOfServiceAgreed: true,
          ...(email ? { contact: [`mailto:${email}`] } : {}),
        });
      } catch (err) {
        throw classify(err, this.problems, 'account');
      }
    }
  }

  async order(client: AcmeClient) {
    try {
      const order = await client.createOrder({
        identifiers: this.domains.map((value) => ({ type: 'dns', value })),
      });
      return { order, authorizations: await client.getAuthorizations(order) };
    } catch (err) {
      throw classify(err, this.problems, 'order');
    }
  }

  /** 4. One TXT per pending authorization (a wildcard and its base name share one name, two values). */
  async publish(
    client: AcmeClient,
    authorizations: Awaited<ReturnType<AcmeClient['getAuthorizations']>>,
    zones: { all: DnsZone[]; byDomain: Map<string, DnsZone> },
  ): Promise<{ expected: ExpectedTxt[]; pending: { challenge: AcmeChallenge; domain: string }[] }> {
    const expected = new Map<string, ExpectedTxt>();
    const pending: { challenge: AcmeChallenge; domain: string }[] = [];
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      const domain = `${authz.wildcard ? '*.' : ''}${authz.identifier.value}`;
      if (!challenge)
        throw new AcmeIssueError(ACME_ERRORS.ca, `acme: the CA offers no dns-01 challenge for ${domain}`);
      const zone = zones.byDomain.get(domain) ?? (zoneOf(zones.all, domain) as DnsZone);
      const rr = challengeRr(zone, domain);
      const value = await client.getChallengeKeyAuthorization(challenge);
      this.added.push(await this.deps.dns.addTxtRecord({ zone: zone.domainName, rr, value }));
      this.calls.writes++;
      const fqdn = `${rr}.${zone.domainName}`;
      const e = expected.get(fqdn) ?? { zone, fqdn, values: [] };
      e.values.push(value);
      expected.set(fqdn, e);
      pending.push({ challenge, domain });
    }
    return { expected: [...expected.values()], pending };
  }

  /** 5. Propagation: every authoritative server of the zone answers every value, or we give up. */
  async awaitPropagation(expected: readonly ExpectedTxt[]): Promise<void> {
    const timeoutMs = this.deps.propagationTimeoutMs ?? 120_000;
    const deadline = this.deps.now().getTime() + timeoutMs;
    for (const e of expected) {
      for (;;) {
        const seen = await this.deps.lookup(e.zone, e.fqdn, 'TXT');
        if (e.values.every((v) => seen.includes(v))) break;
        if (this.deps.now().getTime() >= deadline)
          throw new AcmeIssueError(
            ACME_ERRORS.propagation,
            `acme: ${e.fqdn} TXT not visible on the zone's authoritative servers within ${Math.round(timeoutMs / 1000)} s`,
          );
        await this.deps.sleep(this.deps.propagationPollMs ?? 2000);
      }
    }
  }

  /** 6. Validation by the CA. */
  async validate(client: AcmeClient, pending: readonly { challenge: AcmeChallenge; domain: string }[]) {
    for (const { challenge, domain } of pending) {
      try {
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      } catch (err) {
        if (this.problems.last?.type.endsWith(':rateLimited'))
          throw classify(err, this.problems, 'challenge');
        throw new AcmeIssueError(
          ACME_ERRORS.challengeInvalid,
          `acme: the CA found the dns-01 challenge for ${domain} invalid: ${errorText(err)}`,
          { cause: err },
        );
      }
    }
  }

  /** 7. Finalize with a fresh key and CSR; download the chain. */
  async finalize(acme: AcmeModule, client: AcmeClient, order: AcmeOrder, keyType: AcmeKeyType) {
    try {
      const key =
        keyType === 'rsa-2048'
          ? await acme.crypto.createPrivateRsaKey(2048)
          : await acme.crypto.createPrivateEcdsaKey('P-256');
      const [, csr] = await acme.crypto.createCsr(
        { commonName: bare(this.domains[0] as string), altNames: this.domains },
        key,
      );
      const certPem = await client.getCertificate(await client.finalizeOrder(order, csr));
      this.log({
        acme: 'issued',
        domains: this.domains,
        dnsReads: this.calls.reads,
        dnsWrites: this.calls.writes,
      });
      return { certPem, privateKey: new Secret(key.toString()) };
    } catch (err) {
      throw classify(err, this.problems, 'finalize');
    }
  }

  /** 8. Every record this run added goes, whatever happened. */
  async removeAdded(): Promise<void> {
    for (const id of this.added) {
      try {
        await this.deps.dns.deleteRecord(id);
        this.calls.writes++;
      } catch (err) {
        this.log({
          acme: 'could not remove challenge record',
          recordId: id,
          error: errorText(err),
        });
      }
    }
  }
}

export async function issueCertificate(
  deps: AcmeIssueDeps,
  req: AcmeIssueRequest,
): Promise<IssuedCertificate> {
  const domains = [...new Set(req.domains.map((d) => d.toLowerCase()))];
  if (domains.length === 0) throw new AcmeIssueError(ACME_ERRORS.noZone, 'acme: no domains to issue for');
  const run = new Issuance(deps, domains);
  const zones = await run.zones();
  const acme = await loadAcme(deps, run.problems);
  const client = new acme.Client({
    directoryUrl: req.directoryUrl,
    accountKey: req.accountKey.reveal(),
    ...(req.eab ? { externalAccountBinding: { kid: req.eab.kid, hmacKey: req.eab.hmacKey.reveal() } } : {}),
  });
  await run.checkCaa(client, zones.byDomain, req.caaIdentities);
  await run.clearStale(zones.byDomain);
  try {
    await run.account(client, req.email);
    const { order, authorizations } = await run.order(client);
    const { expected, pending } = await run.publish(client, authorizations, zones);
    await run.awaitPropagation(expected);
    await run.validate(client, pending);
    const issued = await run.finalize(acme, client, order, req.keyType);
    return { ...issued, domains, dnsCalls: run.calls };
  } finally {
    await run.removeAdded();
  }
}

/** What a deployment issues with: its account key, its DNS, its lookup; absent key, `configured` is false. */
export function createAcmeIssuer(
  deps: AcmeIssueDeps,
  accountKey: Secret | undefined,
): {
  configured: boolean;
  issue(order: Omit<AcmeIssueRequest, 'accountKey'> & { dnsZone?: string }): Promise<IssuedCertificate>;
  renewalInfo(directoryUrl: string, certId: string): Promise<RenewalInfo | undefined>;
} {
  return {
    configured: accountKey !== undefined,
    renewalInfo: (directoryUrl, certId) =>
      fetchRenewalInfo({
        directoryUrl,
        certId,
        now: deps.now(),
        ...(deps.caTrustPem ? { caTrustPem: deps.caTrustPem } : {}),
      }),
    async issue({ dnsZone, ...order }) {
      if (!accountKey) throw new AcmeIssueError(ACME_ERRORS.ca, 'acme: no account key configured');
      // A pinned zone: the only zone challenge records may go into.
      const dns: DnsClient = dnsZone
        ? {
            ...deps.dns,
            listZones: async () =>
              (await deps.dns.listZones()).filter((z) => z.domainName === dnsZone.toLowerCase()),
          }
        : deps.dns;
      return issueCertificate({ ...deps, dns }, { ...order, accountKey });
    },
  };
}
