// When an ACME-issued certificate is renewed: ACME Renewal Information (RFC 9773) when the CA offers it
// (the CA's suggested window wins over our own rule, so a mass revocation is handled early and a
// healthy certificate is not renewed before the CA wants), and the CA's rate limits (a rate-limited
// order waits for the time the CA named, not for the next daily run). Pure: `now` comes in.

/** RFC 9773 §4.1: the certificate's ARI identifier, `base64url(AKI keyIdentifier).base64url(serial)`. */
export function ariCertId(authorityKeyId: Uint8Array, serialDer: Uint8Array): string {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return `${b64u(authorityKeyId)}.${b64u(serialDer)}`;
}

/** The serial number's DER INTEGER content from its hex: a leading 00 when the high bit is set. */
export function serialDerFromHex(hex: string): Uint8Array {
  let h = hex.replace(/[^0-9a-f]/gi, '').toLowerCase();
  if (h.length % 2) h = `0${h}`;
  h = h.replace(/^(00)+(?=[0-7])/, '');
  const bytes = Buffer.from(h, 'hex');
  return (bytes[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

export interface RenewalWindow {
  start: Date;
  end: Date;
}

export type AriDecision =
  | { due: true; reason: string }
  | { due: false; reason: string /** when to look again */; notBefore: Date };

/**
 * Due once the window has started. RFC 9773 asks clients to pick a time inside the window; a daily
 * run that is past the start renews now (waiting a day could overshoot a short window).
 */
export function ariDecision(window: RenewalWindow, now: Date): AriDecision {
  if (window.end <= window.start) return { due: true, reason: 'ARI window is empty or inverted: renew now' };
  if (now >= window.start)
    return { due: true, reason: `the CA's renewal window opened ${window.start.toISOString()} (ARI)` };
  return {
    due: false,
    reason: `the CA suggests renewing from ${window.start.toISOString()} (ARI)`,
    notBefore: window.start,
  };
}

/** A rate-limited order is tried again only once the CA's Retry-After has passed. */
export function rateLimitWaiting(retryAfter: Date | undefined, now: Date): boolean {
  return retryAfter !== undefined && now < retryAfter;
}

/** On a load balancer: until when (unix seconds) its references' ACME orders wait for the CA's rate limit. */
export const ACME_RETRY_AFTER_TAG = 'slb-autopilot:acme-retry-after';

/** The wait a load balancer's tags record, if any (an unreadable value is no wait). */
export function acmeRetryAfter(tags: readonly { key: string; value: string }[]): Date | undefined {
  const v = tags.find((t) => t.key === ACME_RETRY_AFTER_TAG)?.value;
  return v && /^\d{1,12}$/.test(v) ? new Date(Number(v) * 1000) : undefined;
}

/**
 * On a certificate we issued and uploaded: its ARI id (RFC 9773 §4.1), so renewal can ask the CA about it
 * without the certificate's PEM (SLB does not return it). At most 128 characters, like every tag value.
 */
export const ACME_ARI_ID_TAG = 'slb-autopilot:acme-ari-id';
