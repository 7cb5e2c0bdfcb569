// Where a notification may be sent. A notification URL comes from the spec or the environment, and the
// functions run inside the VPC: a URL must not turn them into a client of the instance metadata service
// (100.100.100.200 on Alibaba Cloud, 169.254.169.254 elsewhere) or of link-local addresses. `https` only;
// plain `http` only to loopback, for local runs. Pure: the resolved addresses of a host name are checked
// by the sender (shared/cloud/notify.ts) with `addressProblem` before it connects.

/** 127.0.0.0/8, ::1 and `localhost` */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = parseIpv4(h) ?? mappedIpv4(h);
  if (v4) return v4[0] === 127;
  const v6 = parseIpv6(h);
  return v6?.slice(0, 7).every((x) => x === 0) === true && v6[7] === 1;
}

function parseIpv4(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

/** Eight 16-bit groups, or undefined when `s` is not an IPv6 address (a trailing dotted quad allowed). */
function parseIpv6(s: string): number[] | undefined {
  if (!s.includes(':')) return undefined;
  let text = s.split('%')[0] ?? '';
  const quad = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (quad?.[1]) {
    const v4 = parseIpv4(quad[1]);
    if (!v4) return undefined;
    text = `${text.slice(0, -quad[1].length)}${((v4[0] ?? 0) * 256 + (v4[1] ?? 0)).toString(16)}:${((v4[2] ?? 0) * 256 + (v4[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = (part: string | undefined) => (part ? part.split(':') : []);
  const head = group(halves[0]);
  const tail = group(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.map((g) => Number.parseInt(g, 16));
}

/** ::ffff:a.b.c.d (and its hex spelling, as URL normalises it) as IPv4 */
function mappedIpv4(s: string): number[] | undefined {
  const v6 = parseIpv6(s);
  if (v6?.slice(0, 5).every((x) => x === 0) !== true || v6[5] !== 0xffff) return undefined;
  const [hi = 0, lo = 0] = v6.slice(6);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255];
}

/** Why an IP address must not be contacted, or undefined (host names are not addresses: undefined). */
export function addressProblem(address: string): string | undefined {
  const h = address.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = parseIpv4(h) ?? mappedIpv4(h);
  if (v4) {
    const [a, b, c, d] = v4;
    if (a === 169 && b === 254) return 'a link-local address (169.254.0.0/16, instance metadata)';
    if (a === 100 && b === 100 && c === 100 && d === 200) return 'the instance metadata address';
    if (a === 0) return 'an unspecified address';
    return undefined;
  }
  const v6 = parseIpv6(h);
  if (!v6) return undefined;
  if (((v6[0] ?? 0) & 0xffc0) === 0xfe80) return 'a link-local address (fe80::/10)';
  if (v6.every((x) => x === 0)) return 'an unspecified address';
  return undefined;
}

/** Why a notification URL is refused, or undefined. Never repeats the URL (it may carry a token). */
export function notifyUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be a URL';
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname)))
    return 'must be https:// (plain http:// only to a loopback address, for local runs)';
  if (u.username || u.password) return 'must not carry a user name or password';
  const bad = addressProblem(u.hostname);
  return bad ? `must not point at ${bad}` : undefined;
}
