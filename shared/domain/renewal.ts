// Renewal decisions, pure: when a certificate is due, and the rotation marker.
//
// The rotation marker: tags on a load balancer that say a certificate switch on one of its references is
// in flight, written before the bind and removed once the switch is verified or rolled back. A run that
// dies in between (FC timeout, crash) leaves them, and the next run finishes the switch first.
//
// Two tags per reference, because SLB limits a tag key to 64 characters and a value to 128 (reference
// §5, "Tag rules") and a server certificate id can be 70 characters with its region suffix:
//   slb-autopilot:rotation:<ref>:from = id=<certificate bound before>;at=<unix seconds>
//   slb-autopilot:rotation:<ref>:to   = id=<certificate being bound>;at=<unix seconds>
// where <ref> is the listener port (its default certificate) or the domain extension id.

import { InputError } from '../errors';
import { daysLeft } from './certificate';

const DAY_MS = 86_400_000;

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

/**
 * Whether a listener answers this SNI server name with one of its extension domains' certificates
 * instead of its default one (CLB's rule): an exact extension domain, or the wildcard one label up
 * (`*.example.com` answers `a.example.com`, never `example.com` nor `a.b.example.com`). Case and a
 * trailing dot do not count.
 */
export function answeredByExtensionDomain(servername: string, extensionDomains: readonly string[]): boolean {
  const norm = (d: string) => d.trim().toLowerCase().replace(/\.$/, '');
  const domains = new Set(extensionDomains.map(norm));
  const name = norm(servername);
  if (domains.has(name)) return true;
  const dot = name.indexOf('.');
  return dot > 0 && domains.has(`*${name.slice(dot)}`);
}

export const ROTATION_TAG_PREFIX = 'slb-autopilot:rotation:';
export const TAG_KEY_MAX = 64;
export const TAG_VALUE_MAX = 128;

export interface RotationMarker {
  /** the listener port, or the domain extension id */
  ref: string;
  from: string;
  to: string;
  /** unix seconds */
  at: number;
}

const REF = /^[A-Za-z0-9._-]{1,32}$/;
const ID = /^[A-Za-z0-9._-]{1,100}$/;

export class RotationMarkerError extends InputError {
  override name = 'RotationMarkerError';
  constructor(field: string, message: string) {
    super(`rotationMarker.${field}: ${message}`, { field: `rotationMarker.${field}` });
  }
}

/** The reference part of a marker: the listener port or the extension domain's id. */
export const markerRef = (ref: {
  kind: 'listener' | 'extensionDomain';
  listenerPort: number;
  domainExtensionId?: string;
}) => (ref.kind === 'listener' ? String(ref.listenerPort) : (ref.domainExtensionId ?? ''));

export function rotationMarkerKeys(ref: string): [string, string] {
  return [`${ROTATION_TAG_PREFIX}${ref}:from`, `${ROTATION_TAG_PREFIX}${ref}:to`];
}

/** The tags for a marker; refuses what SLB would refuse (the field named). */
export function rotationMarkerTags(m: RotationMarker): { key: string; value: string }[] {
  if (!REF.test(m.ref)) throw new RotationMarkerError('ref', 'must be 1-32 of A-Z a-z 0-9 . _ -');
  for (const f of ['from', 'to'] as const)
    if (!ID.test(m[f])) throw new RotationMarkerError(f, 'must be a server certificate id');
  if (!Number.isInteger(m.at) || m.at < 0) throw new RotationMarkerError('at', 'must be unix seconds');
  const [fromKey, toKey] = rotationMarkerKeys(m.ref);
  const tags = [
    { key: fromKey, value: `id=${m.from};at=${m.at}` },
    { key: toKey, value: `id=${m.to};at=${m.at}` },
  ];
  for (const t of tags) {
    if (t.key.length > TAG_KEY_MAX)
      throw new RotationMarkerError('ref', `tag key over ${TAG_KEY_MAX} characters`);
    if (t.value.length > TAG_VALUE_MAX)
      throw new RotationMarkerError('from', `tag value over ${TAG_VALUE_MAX} characters`);
  }
  return tags;
}

/**
 * The markers among a load balancer's tags. A half marker (one of the pair missing or unreadable) is
 * returned in `broken` by reference, so it can be removed: it names no switch that can be finished.
 */
export function parseRotationMarkers(tags: readonly { key: string; value: string }[]): {
  markers: RotationMarker[];
  broken: string[];
} {
  const halves = new Map<string, { from?: { id: string; at: number }; to?: { id: string; at: number } }>();
  for (const t of tags) {
    if (!t.key.startsWith(ROTATION_TAG_PREFIX)) continue;
    const m = /^(.+):(from|to)$/.exec(t.key.slice(ROTATION_TAG_PREFIX.length));
    if (!m?.[1] || !m[2]) continue;
    const entry = halves.get(m[1]) ?? {};
    halves.set(m[1], entry);
    const v = /^id=([^;]+);at=(\d+)$/.exec(t.value);
    if (v?.[1] && v[2]) entry[m[2] as 'from' | 'to'] = { id: v[1], at: Number(v[2]) };
  }
  const markers: RotationMarker[] = [];
  const broken: string[] = [];
  for (const [ref, h] of halves) {
    if (h.from && h.to) markers.push({ ref, from: h.from.id, to: h.to.id, at: h.from.at });
    else broken.push(ref);
  }
  return { markers, broken };
}
