// One reference's certificate switch as a paired step: the bind (the listener's default certificate or
// the extension domain's), its verify (a real TLS handshake with SNI for each domain the reference serves),
// its commit (the old certificate's grace period starts) and its rollback; and the switch's outcome in the
// reference's report.

import type { SlbClient } from '../cloud/slb';
import type { ServerCertificate } from '../cloud/slb/certificates';
import type { Tag } from '../cloud/slb/wire';
import type { ServedCertificateCheck } from '../cloud/tls-probe';
import { isOwned } from '../domain/ownership';
import { markerRef, rotationMarkerTags } from '../domain/renewal';
import { handshakeNames, REPLACED_AT_TAG } from '../domain/renewal-plan';
import { errorReport } from '../errors';
import type { RenewalDeps, RenewalOptions } from './cert-renewal';
import type { CertificateReference } from './certificates-in-use';
import type { Check, PairedOutcome, PairedStep } from './paired-step';
import type { ReferenceReport, RenewalReport, Verification } from './renewal-report';

export async function bind(
  slb: SlbClient,
  ref: CertificateReference,
  serverCertificateId: string,
): Promise<void> {
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

export interface SwitchPlan {
  from: { id: string; certificate?: ServerCertificate };
  to: { id: string; fingerprint?: string };
  at: Date;
}

/** One reference's switch as a paired step: bind, verify, commit (grace starts), rollback; the marker is its batch's. */
export function switchStep(
  deps: RenewalDeps,
  options: RenewalOptions,
  ref: CertificateReference,
  plan: SwitchPlan,
): PairedStep<Verification> {
  const { slb } = deps;
  const check = async (fingerprint: string | undefined, missing: Check<Verification>) =>
    fingerprint ? verifyReference(deps, ref, fingerprint, options) : missing;
  const previous = plan.from.certificate;
  return {
    id: ref.id,
    bind: () => bind(slb, ref, plan.to.id),
    verify: () =>
      check(plan.to.fingerprint, {
        ok: false,
        details: [{ domain: ref.domains.join(', '), result: `${plan.to.id} is not in the region` }],
      }),
    // The old certificate is replaced and the replacement verified: its grace period starts now.
    commit: async () => {
      if (previous && isOwned(deps.ownership, previous.tags, previous.serverCertificateName))
        await slb.tagResources({
          regionId: ref.regionId,
          resourceType: 'certificate',
          resourceIds: [plan.from.id],
          tags: [{ key: REPLACED_AT_TAG, value: plan.at.toISOString() }],
        });
    },
    rollback: {
      bind: () => bind(slb, ref, plan.from.id),
      // A dangling reference (its certificate gone from the region) has nothing to compare against.
      verify: () =>
        check(previous?.fingerprint, {
          ok: true,
          details: [
            { domain: ref.domains.join(', '), result: `${plan.from.id} is not in the region: not checked` },
          ],
        }),
    },
  };
}

/** The marker of one switch: the two tags on its load balancer. */
export function markerTags(ref: CertificateReference, plan: SwitchPlan): Tag[] {
  return rotationMarkerTags({
    ref: markerRef(ref),
    from: plan.from.id,
    to: plan.to.id,
    at: Math.floor(plan.at.getTime() / 1000),
  });
}

/** A switch's outcome in its reference's report. */
export function recordSwitch(
  report: RenewalReport,
  ref: CertificateReference,
  r: ReferenceReport,
  out: PairedOutcome<Verification>,
): void {
  r.verification = verificationLines(out);
  if (out.status === 'applied') {
    if (!out.settled)
      report.warnings.push({
        message: `${ref.id}: rotated and verified, but its marker could not be removed (${out.rollbackError?.message}); the next run removes it`,
        ...(out.rollbackError ? { error: errorReport(out.rollbackError) } : {}),
      });
    return;
  }
  report.failed = true;
  if (out.error) r.failure = errorReport(out.error);
  if (out.rollbackError) r.rollbackFailure = errorReport(out.rollbackError);
  const previous = ref.serverCertificateId;
  if (out.status === 'rolledBack') {
    r.action = 'rolledBack';
    r.error = `${out.error?.phase === 'verify' ? 'the listener did not serve the new certificate' : `the switch failed (${out.error?.message})`}; rolled back to ${previous}, which is served again`;
  } else if (out.status === 'unsettled') {
    r.action = 'failed';
    r.error = `the switch failed (${out.error?.message}) and so did the rollback to ${previous} (${out.rollbackError?.message}); the next run finishes it from the marker`;
  } else {
    r.action = 'failed';
    r.error = `nothing switched: ${out.error?.message}`;
  }
}

export function verificationLines(out: PairedOutcome<Verification>): Verification {
  return [
    ...(out.verification ?? []),
    ...(out.rollbackVerification ?? []).map((x) => ({ ...x, result: `previous certificate: ${x.result}` })),
  ];
}

async function verifyReference(
  deps: RenewalDeps,
  ref: CertificateReference,
  fingerprint: string,
  options: RenewalOptions,
): Promise<Check<Verification>> {
  const where = await deps.listenerAddress({
    loadBalancerId: ref.loadBalancerId,
    address: ref.address,
    listenerPort: ref.listenerPort,
  });
  const names = handshakeNames(ref.domains, ref.extensionDomains ?? []);
  const results: Verification = names.flatMap((n) => (n.skip ? [{ domain: n.domain, result: n.skip }] : []));
  let ok = true;
  for (const { domain, servername } of names.filter((n) => !n.skip)) {
    const check = await deps.verify({
      host: where.host,
      port: where.port,
      ...(servername ? { servername } : {}),
      expectFingerprint: fingerprint,
      attempts: options.verifyAttempts ?? 5,
      delayMs: options.verifyDelayMs ?? 2000,
    });
    if (check.status !== 'matched') ok = false;
    results.push({ domain, result: handshakeResult(check) });
  }
  return { ok, details: results };
}

function handshakeResult(check: ServedCertificateCheck): string {
  if (check.status === 'matched') return `served after ${check.attempts} handshake(s)`;
  return check.status === 'mismatch'
    ? `still serving ${check.served.subjectCN} (${check.served.fingerprintSha1}) after ${check.attempts} handshake(s)`
    : `handshake failed: ${check.error.reason}`;
}
