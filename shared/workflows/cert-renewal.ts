// Certificate renewal and zero-downtime rotation.
//   discover  every certificate a managed load balancer serves (listener default, extension domains),
//             facts from SLB's certificate record (certificates-in-use.ts)
//   decide    due when it expires within renewBeforeDays or has used more than two thirds of its
//             lifetime; the replacement is the spec's source for that reference (a PEM pair, a pinned
//             CAS id) or else the valid CAS certificate with the latest expiry covering every domain
//             the reference serves; it must expire later than the current one
//   upload    once per certificate per region (reused by fingerprint), named and tagged as ours
//   switch    only the due references: the listener's default certificate (a partial update of that one
//             attribute) or the extension domain's
//   verify    a real TLS handshake with SNI for each domain; on a persistent mismatch roll the
//             reference back, verify that, and report the failure
//   clean up  delete an old certificate only when we own it, nothing in the region references it, its
//             replacement was verified (it carries our replaced-at tag) and the grace period has
//             passed, or it has expired; warn near the 100-certificate quota
// Dry run: the same decisions and report, no writes and no handshakes.

import type { CasClient } from '../cloud/cas';
import type { ListenerAddressResolver } from '../cloud/listener-address';
import type { SlbClient } from '../cloud/slb';
import type { ServerCertificate } from '../cloud/slb/certificates';
import type { ServedCertificateCheck, WaitForServedCertificateRequest } from '../cloud/tls-probe';
import { daysLeft } from '../domain/certificate';
import type { Spec } from '../domain/spec';
import {
  type CertificateFacts,
  CertificateSourceError,
  type Commit,
  createCertificateResolver,
} from './certificate-source';
import { type CertificateReference, findCertificatesInUse } from './certificates-in-use';

export const REPLACED_AT_TAG = 'slb-autopilot:replaced-at';
export const CERTIFICATE_QUOTA = 100;
const DAY_MS = 86_400_000;

export interface RenewalDeps {
  slb: SlbClient;
  cas: CasClient;
  now: () => Date;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  listenerAddress: ListenerAddressResolver;
  verify: (req: WaitForServedCertificateRequest) => Promise<ServedCertificateCheck>;
}

export interface RenewalOptions {
  dryRun?: boolean;
  /** handshakes per domain while waiting for propagation (default 5) */
  verifyAttempts?: number;
  /** between handshakes (default 2000 ms) */
  verifyDelayMs?: number;
}

interface CertificateSummary {
  serverCertificateId?: string;
  commonName?: string;
  expires?: string;
  fingerprint?: string;
}

export type ReferenceAction =
  | 'notDue'
  | 'rotated'
  | 'wouldRotate'
  | 'rolledBack'
  | 'noReplacement'
  | 'pinned'
  | 'failed';

export interface ReferenceReport {
  reference: string;
  kind: CertificateReference['kind'];
  domains: string[];
  due: boolean;
  why: string;
  action: ReferenceAction;
  before: CertificateSummary;
  after?: CertificateSummary;
  verification?: { domain: string; result: string }[];
  error?: string;
}

export interface RenewalReport {
  at: string;
  dryRun: boolean;
  regionId: string;
  references: ReferenceReport[];
  uploaded: string[];
  deleted: string[];
  /** old certificates kept, and why */
  kept: { serverCertificateId: string; name: string; why: string }[];
  warnings: string[];
  failed: boolean;
}

const summary = (c: ServerCertificate | undefined, id: string): CertificateSummary => ({
  serverCertificateId: id,
  ...(c
    ? {
        commonName: c.commonName,
        expires: new Date(c.expireTimeStamp).toISOString(),
        fingerprint: c.fingerprint,
      }
    : {}),
});
const factsSummary = (f: CertificateFacts, id?: string): CertificateSummary => ({
  ...(id ? { serverCertificateId: id } : {}),
  commonName: f.commonName,
  expires: f.notAfter.toISOString(),
  fingerprint: f.fingerprint,
});

/** Due, and why: the renewal window, or more than two thirds of the lifetime used. */
export function renewalDue(
  expiresMs: number,
  issuedMs: number | undefined,
  nowMs: number,
  renewBeforeDays: number,
): { due: boolean; why: string } {
  const left = expiresMs - nowMs;
  const days = daysLeft(expiresMs, new Date(nowMs));
  if (left <= 0) return { due: true, why: 'expired' };
  if (left <= renewBeforeDays * DAY_MS)
    return { due: true, why: `expires in ${days} days (window ${renewBeforeDays})` };
  if (issuedMs !== undefined && expiresMs > issuedMs) {
    const used = (nowMs - issuedMs) / (expiresMs - issuedMs);
    if (used > 2 / 3) return { due: true, why: `${Math.round(used * 100)}% of its lifetime used` };
  }
  return { due: false, why: `expires in ${days} days` };
}

export async function runCertRenewal(
  deps: RenewalDeps,
  spec: Spec,
  options: RenewalOptions = {},
): Promise<RenewalReport> {
  const now = deps.now();
  const dryRun = options.dryRun ?? false;
  const { slb } = deps;
  const inUse = await findCertificatesInUse(slb, spec);
  const regionId = inUse.regionId;
  const report: RenewalReport = {
    at: now.toISOString(),
    dryRun,
    regionId,
    references: [],
    uploaded: [],
    deleted: [],
    kept: [],
    warnings: [],
    failed: false,
  };
  if (inUse.references.length === 0) return report;
  const resolver = createCertificateResolver({ ...deps, regionId, ownership: spec.ownership });
  // CAS's record of a certificate gives its real start; SLB's only the upload time.
  const cas = await resolver.casCertificates().catch(() => []);
  const issued = (fp: string | undefined) =>
    cas.find(
      (c) =>
        c.fingerprint &&
        fp &&
        c.fingerprint.toLowerCase().replace(/:/g, '') === fp.toLowerCase().replace(/:/g, ''),
    )?.notBefore;

  // Decide every reference before writing anything.
  const plans: { ref: CertificateReference; report: ReferenceReport; commit?: Commit }[] = [];
  for (const ref of inUse.references) {
    const c = ref.current;
    const r: ReferenceReport = {
      reference: ref.id,
      kind: ref.kind,
      domains: ref.domains,
      due: false,
      why: '',
      action: 'notDue',
      before: summary(c, ref.serverCertificateId),
    };
    report.references.push(r);
    if (!c) {
      Object.assign(r, {
        due: true,
        why: 'the referenced certificate is not in the region',
        action: 'noReplacement',
      });
    } else {
      const d = renewalDue(
        c.expireTimeStamp,
        issued(c.fingerprint) ?? c.createTimeStamp,
        now.getTime(),
        spec.renewal.renewBeforeDays,
      );
      r.due = d.due;
      r.why = d.why;
      if (!d.due) continue;
    }
    if (ref.source && 'serverCertificateId' in ref.source) {
      r.action = 'pinned';
      r.why += '; the spec pins this reference to an SLB certificate id: update the spec';
      continue;
    }
    const source = ref.source ?? { cas: { domain: ref.domains[0] ?? c?.commonName ?? '' } };
    try {
      const commit = await resolver.prepare(source, ref.domains, `${ref.id}.certificate`);
      if (
        c &&
        (commit.facts.fingerprint === c.fingerprint.toLowerCase() ||
          commit.facts.notAfter.getTime() <= c.expireTimeStamp)
      ) {
        r.action = 'noReplacement';
        r.error = `the best replacement (${commit.facts.commonName}, expires ${commit.facts.notAfter.toISOString().slice(0, 10)}) does not expire later than the current certificate`;
        continue;
      }
      r.after = factsSummary(commit.facts);
      r.action = dryRun ? 'wouldRotate' : 'rotated';
      plans.push({ ref, report: r, commit });
    } catch (err) {
      if (!(err instanceof CertificateSourceError)) throw err;
      r.action = 'noReplacement';
      r.error = err.message;
    }
  }

  if (!dryRun) {
    for (const p of plans) {
      const { ref, report: r, commit } = p;
      if (!commit) continue;
      const previous = ref.serverCertificateId;
      try {
        const resolved = await commit();
        if (resolved.uploaded && !report.uploaded.includes(resolved.serverCertificateId))
          report.uploaded.push(resolved.serverCertificateId);
        r.after = factsSummary(commit.facts, resolved.serverCertificateId);
        await bind(slb, ref, resolved.serverCertificateId);
        const verification = await verifyReference(deps, ref, commit.facts.fingerprint, options);
        r.verification = verification.results;
        if (!verification.ok) {
          // Roll back, and check the old certificate is served again.
          await bind(slb, ref, previous);
          const back = ref.current
            ? await verifyReference(deps, ref, ref.current.fingerprint, options)
            : undefined;
          r.action = 'rolledBack';
          r.error = `the listener did not serve the new certificate; rolled back to ${previous}${back && !back.ok ? ' (the rollback did not verify either)' : ''}`;
          if (back)
            r.verification.push(
              ...back.results.map((x) => ({ ...x, result: `after rollback: ${x.result}` })),
            );
          report.failed = true;
          continue;
        }
        // The old certificate is replaced and the replacement verified: the grace period starts now.
        if (ref.current && owned(ref.current, spec))
          await slb.tagResources({
            regionId,
            resourceType: 'certificate',
            resourceIds: [previous],
            tags: [{ key: REPLACED_AT_TAG, value: now.toISOString() }],
          });
      } catch (err) {
        r.action = 'failed';
        r.error = err instanceof Error ? err.message : String(err);
        report.failed = true;
      }
    }
  }
  if (report.references.some((r) => r.action === 'noReplacement' && r.due)) report.failed = true;

  // Clean up: what nothing references any more, after the switches above.
  const referenced = new Set(
    report.references.map((r) =>
      r.action === 'rotated' ? (r.after?.serverCertificateId ?? '') : (r.before.serverCertificateId ?? ''),
    ),
  );
  // References on load balancers the spec does not manage count too.
  const managed = new Set(inUse.references.map((r) => r.loadBalancerId));
  const others = await otherReferences(
    slb,
    regionId,
    inUse.loadBalancers.filter((lb) => !managed.has(lb.loadBalancerId)).map((lb) => lb.loadBalancerId),
  );
  for (const id of others) referenced.add(id);
  const certificates = dryRun ? inUse.certificates : await slb.describeServerCertificates({ regionId });
  for (const c of certificates) {
    if (!owned(c, spec) || referenced.has(c.serverCertificateId)) continue;
    const replacedAt = c.tags.find((t) => t.key === REPLACED_AT_TAG)?.value;
    const expired = c.expireTimeStamp <= now.getTime();
    const graceOver =
      replacedAt !== undefined &&
      now.getTime() - Date.parse(replacedAt) >= spec.renewal.gracePeriodDays * DAY_MS;
    if (!expired && !graceOver) {
      report.kept.push({
        serverCertificateId: c.serverCertificateId,
        name: c.serverCertificateName,
        why: replacedAt
          ? `grace period of ${spec.renewal.gracePeriodDays} days since ${replacedAt.slice(0, 10)}`
          : 'not replaced by a verified rotation (no replaced-at tag)',
      });
      continue;
    }
    if (dryRun) {
      report.deleted.push(`${c.serverCertificateId} (would delete)`);
      continue;
    }
    try {
      await slb.deleteServerCertificate({ regionId, serverCertificateId: c.serverCertificateId });
      report.deleted.push(c.serverCertificateId);
    } catch (err) {
      report.warnings.push(
        `could not delete ${c.serverCertificateId}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  const count = certificates.length - report.deleted.filter((d) => !d.endsWith('(would delete)')).length;
  if (count >= CERTIFICATE_QUOTA - 10)
    report.warnings.push(
      `${regionId} holds ${count} of ${CERTIFICATE_QUOTA} server certificates: near the quota`,
    );
  return report;
}

function owned(c: ServerCertificate, spec: Spec): boolean {
  return (
    c.serverCertificateName.startsWith(spec.ownership.namePrefix) ||
    c.tags.some((t) => t.key === spec.ownership.tagKey && t.value === spec.ownership.tagValue)
  );
}

async function bind(slb: SlbClient, ref: CertificateReference, serverCertificateId: string): Promise<void> {
  if (ref.kind === 'listener')
    await slb.setHttpsListenerAttribute({
      regionId: ref.regionId,
      loadBalancerId: ref.loadBalancerId,
      listenerPort: ref.listenerPort,
      serverCertificateId,
    });
  else
    await slb.setDomainExtensionCertificate({
      regionId: ref.regionId,
      domainExtensionId: ref.domainExtensionId ?? '',
      serverCertificateId,
    });
}

async function verifyReference(
  deps: RenewalDeps,
  ref: CertificateReference,
  fingerprint: string,
  options: RenewalOptions,
): Promise<{ ok: boolean; results: { domain: string; result: string }[] }> {
  const where = await deps.listenerAddress({
    loadBalancerId: ref.loadBalancerId,
    address: ref.address,
    listenerPort: ref.listenerPort,
  });
  const results: { domain: string; result: string }[] = [];
  let ok = true;
  for (const domain of ref.domains) {
    // A wildcard reference is checked on a name it covers.
    const servername = domain.startsWith('*.') ? `check${domain.slice(1)}` : domain;
    const check = await deps.verify({
      host: where.host,
      port: where.port,
      servername,
      expectFingerprint: fingerprint,
      attempts: options.verifyAttempts ?? 5,
      delayMs: options.verifyDelayMs ?? 2000,
    });
    if (check.status === 'matched')
      results.push({ domain, result: `served after ${check.attempts} handshake(s)` });
    else {
      ok = false;
      results.push({
        domain,
        result:
          check.status === 'mismatch'
            ? `still serving ${check.served.subjectCN} (${check.served.fingerprintSha1}) after ${check.attempts} handshake(s)`
            : `handshake failed: ${check.error.kind}`,
      });
    }
  }
  return { ok, results };
}

/** Certificates bound on load balancers outside the spec (never ours to delete from under them). */
async function otherReferences(slb: SlbClient, regionId: string, others: string[]): Promise<string[]> {
  if (others.length === 0) return [];
  const out: string[] = [];
  const listeners = await slb.describeListeners({ regionId, loadBalancerIds: others, protocol: 'https' });
  for (const l of listeners) {
    if (l.listenerProtocol !== 'https') continue;
    const detail = await slb.describeHttpsListener({
      regionId,
      loadBalancerId: l.loadBalancerId,
      listenerPort: l.listenerPort,
    });
    if (detail.serverCertificateId) out.push(detail.serverCertificateId);
    for (const d of detail.domainExtensions) out.push(d.serverCertificateId);
  }
  return out;
}

/** Markdown for people. */
export function describeRenewal(r: RenewalReport): string {
  const lines = r.references
    .filter((x) => x.due || x.action !== 'notDue')
    .map(
      (x) =>
        `- ${x.reference}: ${x.action} (${x.why})${x.after ? `: ${x.before.commonName ?? '?'} ${x.before.expires?.slice(0, 10) ?? '?'} -> ${x.after.commonName} ${x.after.expires?.slice(0, 10)}` : ''}${x.error ? `; ${x.error}` : ''}`,
    );
  if (lines.length === 0) lines.push(`- nothing due (${r.references.length} reference(s) checked)`);
  if (r.deleted.length) lines.push(`- deleted: ${r.deleted.join(', ')}`);
  for (const w of r.warnings) lines.push(`- warning: ${w}`);
  return lines.join('\n');
}
