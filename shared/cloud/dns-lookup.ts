// Asking a zone's authoritative name servers directly (not a caching resolver): a DNS-01 challenge is
// ready only when every one of them answers the new TXT value, since the CA may ask any. In local runs
// the local cloud's DNS server stands in for every zone's servers (GET /_emulator/dns).

import { Resolver } from 'node:dns/promises';
import type { DnsZone } from './dns';

export type DnsLookup = (zone: DnsZone, name: string, type: 'TXT' | 'CAA') => Promise<string[]>;

/** A name that does not exist, or exists without records of the type, has no values. */
const EMPTY = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

async function ask(server: string, name: string, type: 'TXT' | 'CAA'): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  r.setServers([server]);
  try {
    if (type === 'TXT') return (await r.resolveTxt(name)).map((chunks) => chunks.join(''));
    return (await r.resolveCaa(name)).map((c) => {
      const [tag, value] = Object.entries(c).find(([k]) => k !== 'critical') ?? ['issue', ''];
      return `${c.critical ?? 0} ${tag} "${value}"`;
    });
  } catch (err) {
    if (EMPTY.has((err as { code?: string }).code ?? '')) return [];
    throw err;
  }
}

/** The values every server agrees on: a record counts once all of them serve it. */
async function askAll(servers: readonly string[], name: string, type: 'TXT' | 'CAA'): Promise<string[]> {
  const answers = await Promise.all(servers.map((s) => ask(s, name, type)));
  const [first = [], ...rest] = answers;
  return first.filter((v) => rest.every((a) => a.includes(v)));
}

/** The real cloud: the zone's name servers, as DescribeDomains lists them, resolved to addresses. */
export function authoritativeLookup(): DnsLookup {
  const system = new Resolver();
  const addresses = new Map<string, Promise<string[]>>();
  const resolve = (host: string) => {
    let hit = addresses.get(host);
    if (!hit) {
      hit = system.resolve4(host);
      addresses.set(host, hit);
    }
    return hit;
  };
  return async (zone, name, type) => {
    const servers = (await Promise.all(zone.dnsServers.map(resolve))).flat();
    if (servers.length === 0) throw new Error(`dns: zone ${zone.domainName} lists no name servers`);
    return askAll(servers, name, type);
  };
}

/** Local runs: the local cloud's DNS server answers for every zone. */
export function localCloudLookup(baseUrl: string): DnsLookup {
  let server: Promise<string> | undefined;
  const where = async () => {
    const res = await fetch(new URL('/_emulator/dns', baseUrl), { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { host?: string; port?: number };
    if (!body.host || !body.port)
      throw new Error('local cloud: no DNS server (is it started with dnsServer off?)');
    return `${body.host}:${body.port}`;
  };
  return async (_zone, name, type) => {
    server ??= where();
    return askAll([await server], name, type);
  };
}
