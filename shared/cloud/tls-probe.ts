// The TLS probe: what a listener actually serves, read through a real handshake (with SNI), so a
// certificate switch is verified on the wire and not only in the API's answers. Failures are classified
// once, by the socket error's `code` (never its message), into kinds a workflow can act on; a bounded
// retry waits out propagation with an injectable sleep.
//
// Trust is not the point: by default the peer is not verified (`rejectUnauthorized: false`) and the
// caller judges the served leaf by its fingerprint. Against the local cloud, host and port come from its
// front-end mapping (the port differs from the ListenerPort); against the real cloud they are the load
// balancer's Address and the ListenerPort.

import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { parseCertificate } from '../domain/certificate';
import { normalizeFingerprint } from '../domain/keys';
import { VerificationError } from '../errors';

export interface TlsProbeRequest {
  host: string;
  /** 1-65535 */
  port: number;
  /** the SNI server name; never sent for an IP literal (TLS forbids it) */
  servername?: string;
  /** connect + handshake, 1-120000 ms; default 5000 */
  timeoutMs?: number;
  /** default false: read whatever is served; true makes an untrusted chain a failure (`untrusted`) */
  rejectUnauthorized?: boolean;
  /** CAs to trust besides the system ones, PEM (with rejectUnauthorized) */
  ca?: string | string[];
}

export interface ServedCertificate {
  /** SHA-1 of the leaf, colon-separated lower-case hex, as SLB reports `Fingerprint` */
  fingerprintSha1: string;
  /** SHA-256 of the leaf, lower-case hex without colons (as ParsedCertificate.sha256) */
  fingerprintSha256: string;
  subjectCN: string;
  /** DNS subject alternative names, lower case */
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  serialNo: string;
  issuerCN: string;
  /** the leaf, PEM */
  pem: string;
  /** whether the chain verified against the trusted CAs (informational when not required) */
  authorized: boolean;
}

export const TLS_PROBE_FAILURES = {
  /** nothing listens on the port (ECONNREFUSED) */
  refused: 'refused',
  /** no completed handshake within timeoutMs (or ETIMEDOUT) */
  timeout: 'timeout',
  /** name resolution or routing (ENOTFOUND, EAI_AGAIN, EHOSTUNREACH, ENETUNREACH) */
  unreachable: 'unreachable',
  /** the peer closed the connection before the handshake completed (ECONNRESET, EPIPE) */
  reset: 'reset',
  /** a TLS protocol failure: alert, no shared cipher, not TLS at all (ERR_SSL_*, EPROTO, ...) */
  handshake: 'handshake',
  /** the chain or the name did not verify (only with rejectUnauthorized) */
  untrusted: 'untrusted',
  /** the handshake completed but no certificate was presented */
  noCertificate: 'noCertificate',
} as const;

export type TlsProbeFailure = (typeof TLS_PROBE_FAILURES)[keyof typeof TLS_PROBE_FAILURES];

/** Worth probing again: the front end may be (re)starting or the network may recover. */
const RETRYABLE: ReadonlySet<TlsProbeFailure> = new Set(['refused', 'timeout', 'unreachable', 'reset']);

const CODES: Record<string, TlsProbeFailure> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ERR_TLS_CERT_ALTNAME_INVALID: 'untrusted',
};

/** OpenSSL's X.509 verification results, as Node reports them in `code`. */
const VERIFY_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
]);

/** The failure kind of a socket or TLS error, by its `code`; anything unknown is a handshake failure. */
export function classifyTlsError(err: unknown): TlsProbeFailure {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'handshake';
  return CODES[code] ?? (VERIFY_CODES.has(code) ? 'untrusted' : 'handshake');
}

export class TlsProbeError extends VerificationError {
  override name = 'TlsProbeError';
  /** what went wrong with the handshake */
  readonly reason: TlsProbeFailure;
  /** the underlying error's code (e.g. ECONNREFUSED, ERR_SSL_WRONG_VERSION_NUMBER), or the reason */
  declare readonly code: string;
  readonly host: string;
  readonly port: number;
  readonly servername: string | undefined;
  readonly retryable: boolean;

  constructor(
    kind: TlsProbeFailure,
    target: Pick<TlsProbeRequest, 'host' | 'port' | 'servername'>,
    detail: string,
    options: { code?: string; cause?: unknown } = {},
  ) {
    const sni = target.servername ? ` (SNI ${target.servername})` : '';
    super(`TLS probe ${target.host}:${target.port}${sni}: ${kind}: ${detail}`, {
      cause: options.cause,
      code: options.code ?? kind,
    });
    this.reason = kind;
    this.host = target.host;
    this.port = target.port;
    this.servername = target.servername;
    this.retryable = RETRYABLE.has(kind);
  }
}

const DETAILS: Record<TlsProbeFailure, string> = {
  refused: 'connection refused (nothing listens on the port)',
  timeout: 'no completed handshake in time',
  unreachable: 'host unreachable or unknown',
  reset: 'connection closed before the handshake completed',
  handshake: 'TLS handshake failed',
  untrusted: 'the served certificate did not verify',
  noCertificate: 'no certificate was presented',
};

function checkRequest(req: TlsProbeRequest, where: string): void {
  if (typeof req.host !== 'string' || req.host === '') throw new Error(`${where}.host: must be a host name`);
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535)
    throw new Error(`${where}.port: must be an integer in [1, 65535]`);
  const t = req.timeoutMs;
  if (t !== undefined && (!Number.isFinite(t) || t < 1 || t > 120_000))
    throw new Error(`${where}.timeoutMs: must be a number in [1, 120000]`);
}

/** One handshake; resolves with the served leaf or rejects with a TlsProbeError (bad arguments: Error). */
export function fetchServedCertificate(req: TlsProbeRequest): Promise<ServedCertificate> {
  try {
    checkRequest(req, 'tlsProbe');
  } catch (err) {
    return Promise.reject(err);
  }
  // tls.connect sends no SNI unless told: default to the host when it is a name, as curl does.
  const named = req.servername || (isIP(req.host) === 0 ? req.host : undefined);
  const servername = named && isIP(named) === 0 ? named : undefined;
  const target = { host: req.host, port: req.port, servername };
  const timeoutMs = req.timeoutMs ?? 5000;
  return new Promise<ServedCertificate>((resolve, reject) => {
    let done = false;
    const socket = connect({
      host: req.host,
      port: req.port,
      servername,
      rejectUnauthorized: req.rejectUnauthorized ?? false,
      ...(req.ca !== undefined ? { ca: req.ca } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    const finish = (outcome: { ok: ServedCertificate } | { error: TlsProbeError }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.error);
    };
    const timer = setTimeout(
      () => finish({ error: new TlsProbeError('timeout', target, `${DETAILS.timeout} (${timeoutMs} ms)`) }),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      const leaf = socket.getPeerX509Certificate();
      if (!leaf) return finish({ error: new TlsProbeError('noCertificate', target, DETAILS.noCertificate) });
      const parsed = parseCertificate(leaf.toString());
      finish({
        ok: {
          fingerprintSha1: parsed.fingerprint,
          fingerprintSha256: parsed.sha256,
          subjectCN: parsed.commonName,
          sans: parsed.sans,
          notBefore: parsed.notBefore,
          notAfter: parsed.notAfter,
          serialNo: parsed.serialNo,
          issuerCN: parsed.issuer,
          pem: parsed.leafPem,
          authorized: socket.authorized,
        },
      });
    });
    socket.once('error', (err: Error & { code?: string }) => {
      const kind = classifyTlsError(err);
      finish({
        error: new TlsProbeError(kind, target, `${DETAILS[kind]}${err.code ? ` (${err.code})` : ''}`, {
          code: err.code,
          cause: err,
        }),
      });
    });
    // A peer that closes without an error event before the handshake (e.g. a plain TCP accept-and-close).
    socket.once('close', () =>
      finish({ error: new TlsProbeError('reset', target, DETAILS.reset, { code: 'ECONNRESET' }) }),
    );
  });
}

/** Whether the served leaf has this SHA-1 (40 hex digits) or SHA-256 (64) fingerprint. */
export function servesFingerprint(served: ServedCertificate, fingerprint: string): boolean {
  const want = normalizeFingerprint(fingerprint);
  return want.length === 40
    ? normalizeFingerprint(served.fingerprintSha1) === want
    : normalizeFingerprint(served.fingerprintSha256) === want;
}

export interface WaitForServedCertificateRequest extends TlsProbeRequest {
  /** SHA-1 (SLB's Fingerprint) or SHA-256, hex with or without colons, any case */
  expectFingerprint: string;
  /** handshakes at most, 1-100; default 5 */
  attempts?: number;
  /** pause between attempts, 0-600000 ms; default 2000 */
  delayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** the single probe (tests inject one) */
  probe?: (req: TlsProbeRequest) => Promise<ServedCertificate>;
}

/** The last attempt's outcome; `attempts` counts handshakes tried. */
export type ServedCertificateCheck =
  | { status: 'matched'; attempts: number; served: ServedCertificate }
  | { status: 'mismatch'; attempts: number; served: ServedCertificate }
  | { status: 'failed'; attempts: number; error: TlsProbeError };

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Probes until the expected leaf is served, allowing for propagation: a mismatch or a retryable
 * failure (refused, timeout, unreachable, reset) is tried again after `delayMs`, up to `attempts`
 * handshakes; a handshake or trust failure ends at once (it will not heal by waiting).
 * Bad arguments throw an Error naming the field; probe failures are returned, never thrown.
 */
export async function waitForServedCertificate(
  req: WaitForServedCertificateRequest,
): Promise<ServedCertificateCheck> {
  const where = 'waitForServedCertificate';
  checkRequest(req, where);
  const want = normalizeFingerprint(String(req.expectFingerprint ?? ''));
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(want))
    throw new Error(`${where}.expectFingerprint: must be a SHA-1 or SHA-256 fingerprint in hex`);
  const attempts = req.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100)
    throw new Error(`${where}.attempts: must be an integer in [1, 100]`);
  const delayMs = req.delayMs ?? 2000;
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 600_000)
    throw new Error(`${where}.delayMs: must be a number in [0, 600000]`);
  const target: TlsProbeRequest = {
    host: req.host,
    port: req.port,
    servername: req.servername,
    timeoutMs: req.timeoutMs,
    rejectUnauthorized: req.rejectUnauthorized,
    ca: req.ca,
  };
  const sleep = req.sleep ?? defaultSleep;
  const once = req.probe ?? fetchServedCertificate;
  let last: ServedCertificateCheck | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(delayMs);
    try {
      const served = await once(target);
      if (servesFingerprint(served, want)) return { status: 'matched', attempts: attempt, served };
      last = { status: 'mismatch', attempts: attempt, served };
    } catch (err) {
      const error =
        err instanceof TlsProbeError
          ? err
          : new TlsProbeError(classifyTlsError(err), target, String(err), { cause: err });
      last = { status: 'failed', attempts: attempt, error };
      if (!error.retryable) return last;
    }
  }
  return last!;
}
