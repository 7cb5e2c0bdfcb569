// Keys that several parts of the project compare by: one definition each, so two places never disagree
// on what "the same backend" or "the same certificate" means.

/** A backend's identity within a VServer group: SLB allows one server on several ports. */
export const backendKey = (b: { readonly serverId: string; readonly port: number }): string =>
  `${b.serverId}:${b.port}`;

/**
 * A certificate fingerprint as we compare it: lower-case hex without separators. SLB answers
 * `AB:CD:...`, CAS and our own hashing plain hex, in either case.
 */
export const normalizeFingerprint = (fingerprint: string): string =>
  fingerprint.toLowerCase().replace(/[^0-9a-f]/g, '');

/** Whether two fingerprints name the same certificate; an absent or empty one matches nothing. */
export function sameFingerprint(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = normalizeFingerprint(a);
  return x !== '' && x === normalizeFingerprint(b);
}
