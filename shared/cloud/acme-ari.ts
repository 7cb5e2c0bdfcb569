// ACME Renewal Information (RFC 9773): asks the CA when it wants a certificate renewed. Only when the
// directory offers `renewalInfo`; an unreadable answer is no answer (the usual due rule applies), never
// a failed run.

import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { ariCertId, type RenewalWindow, serialDerFromHex } from '../domain/acme-renewal';

export interface RenewalInfo {
  window: RenewalWindow;
  explanationUrl?: string;
  /** the CA's Retry-After: when to ask again */
  retryAfter?: Date;
}

function getJson(
  url: string,
  ca: string | undefined,
): Promise<{ status: number; body: unknown; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...(ca ? { agent: new Agent({ ca }) } : {}), timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 * 1024) req.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body, ...(retryAfter ? { retryAfter } : {}) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** DER: the length at `i` (short or long form) and where the content starts. */
function derLength(der: Uint8Array, i: number): { length: number; start: number } {
  const first = der[i] ?? 0;
  if (first < 0x80) return { length: first, start: i + 1 };
  const n = first & 0x7f;
  let length = 0;
  for (let k = 1; k <= n; k++) length = length * 256 + (der[i + k] ?? 0);
  return { length, start: i + 1 + n };
}

const AKI_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);

/** The Authority Key Identifier's keyIdentifier ([0] inside the extension's OCTET STRING). */
export function authorityKeyId(certDer: Uint8Array): Uint8Array | undefined {
  const der = Buffer.from(certDer);
  const at = der.indexOf(AKI_OID);
  if (at < 0) return undefined;
  let i = at + AKI_OID.length;
  if (der[i] === 0x01) i += 3; // critical BOOLEAN
  if (der[i] !== 0x04) return undefined;
  const octets = derLength(der, i + 1);
  if (der[octets.start] !== 0x30) return undefined;
  const seq = derLength(der, octets.start + 1);
  if (der[seq.start] !== 0x80) return undefined;
  const key = derLength(der, seq.start + 1);
  return der.subarray(key.start, key.start + key.length);
}

export function certIdOf(certPem: string): string | undefined {
  const leaf = new X509Certificate(certPem);
  const aki = authorityKeyId(leaf.raw);
  return aki ? ariCertId(aki, serialDerFromHex(leaf.serialNumber)) : undefined;
}

function parseRetryAfter(v: string | undefined, now: Date): Date | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return new Date(now.getTime() + Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t) : undefined;
}

export async function fetchRenewalInfo(o: {
  directoryUrl: string;
  /** the certificate, or its ARI id (certIdOf) when the PEM is not at hand */
  certPem?: string;
  certId?: string;
  now: Date;
  caTrustPem?: string;
}): Promise<RenewalInfo | undefined> {
  try {
    const dir = await getJson(o.directoryUrl, o.caTrustPem);
    const base = (dir.body as { renewalInfo?: unknown } | undefined)?.renewalInfo;
    const id = o.certId ?? (o.certPem ? certIdOf(o.certPem) : undefined);
    if (typeof base !== 'string' || !id) return undefined;
    const res = await getJson(`${base.replace(/\/$/, '')}/${id}`, o.caTrustPem);
    const w = (res.body as { suggestedWindow?: { start?: unknown; end?: unknown }; explanationURL?: unknown })
      ?.suggestedWindow;
    const start = typeof w?.start === 'string' ? new Date(w.start) : undefined;
    const end = typeof w?.end === 'string' ? new Date(w.end) : undefined;
    if (res.status !== 200 || !start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
      return undefined;
    const explanation = (res.body as { explanationURL?: unknown }).explanationURL;
    const retryAfter = parseRetryAfter(res.retryAfter, o.now);
    return {
      window: { start, end },
      ...(typeof explanation === 'string' ? { explanationUrl: explanation } : {}),
      ...(retryAfter ? { retryAfter } : {}),
    };
  } catch {
    return undefined;
  }
}
