// The local cloud's authoritative DNS server: answers, over UDP and TCP on loopback, for the zones and
// records the Alidns API holds (dns/index.ts), as the zone's name servers would. The ACME server (Pebble,
// `-dnsserver`) and our own propagation check ask it. Wire format by dns-packet.
//
// Faults for issuance tests: `propagationDelayMs` (a record answers only that long after it was
// created, by the local cloud's clock, like a slow secondary) and `txtOverride` (every TXT answer is
// replaced, so a CA sees the wrong challenge value and marks it invalid).

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { CloudState, DnsDomainRecord, DnsRecordRecord } from '../state';

export interface DnsFaults {
  propagationDelayMs?: number;
  txtOverride?: string;
}

export interface DnsServerOptions {
  state: () => CloudState;
  now: () => Date;
}

export interface LocalDnsServer {
  readonly host: string;
  readonly port: number;
  setFaults(faults: DnsFaults): void;
  /** the answer to one question, as the server would give it (tests, the admin API) */
  answer(query: dnsPacket.Packet): dnsPacket.Packet;
  close(): Promise<void>;
}

const TTL_CAP = 600;
/** The header's 4-bit response codes (dns-packet encodes them from `flags`, not from `rcode`). */
const RCODE = { NXDOMAIN: 3, REFUSED: 5 } as const;

function zoneFor(state: CloudState, name: string): DnsDomainRecord | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return state.dnsDomains
    .filter((d) => lower === d.domainName || lower.endsWith(`.${d.domainName}`))
    .sort((a, b) => b.domainName.length - a.domainName.length)[0];
}

function relativeName(zone: DnsDomainRecord, name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return lower === zone.domainName ? '@' : lower.slice(0, -(zone.domainName.length + 1));
}

/** TXT strings are at most 255 bytes on the wire: a longer value goes out in chunks. */
function txtChunks(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out.length ? out : [Buffer.alloc(0)];
}

/** Alidns writes CAA values as `0 issue "ca.example"`. */
function caaData(value: string): dnsPacket.CaaData | undefined {
  const m = /^(\d+)\s+(issue|issuewild|iodef)\s+"?([^"]*)"?$/.exec(value.trim());
  if (!m?.[1] || !m[2]) return undefined;
  return { flags: Number(m[1]), tag: m[2] as 'issue', value: m[3] ?? '' };
}

function toAnswer(name: string, r: DnsRecordRecord, faults: DnsFaults): dnsPacket.Answer | undefined {
  const base = { name, ttl: Math.min(r.ttl, TTL_CAP), class: 'IN' as const };
  switch (r.type) {
    case 'A':
      return { ...base, type: 'A', data: r.value };
    case 'AAAA':
      return { ...base, type: 'AAAA', data: r.value };
    case 'CNAME':
      return { ...base, type: 'CNAME', data: r.value };
    case 'NS':
      return { ...base, type: 'NS', data: r.value };
    case 'MX':
      return { ...base, type: 'MX', data: { preference: r.priority ?? 10, exchange: r.value } };
    case 'TXT':
      return { ...base, type: 'TXT', data: txtChunks(faults.txtOverride ?? r.value) };
    case 'CAA': {
      const data = caaData(r.value);
      return data ? { ...base, type: 'CAA', data } : undefined;
    }
  }
}

export function answerQuery(
  state: CloudState,
  nowMs: number,
  faults: DnsFaults,
  query: dnsPacket.Packet,
): dnsPacket.Packet {
  const question = query.questions?.[0];
  const reply: dnsPacket.Packet = {
    id: query.id ?? 0,
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: query.questions ?? [],
    answers: [],
    authorities: [],
  };
  const zone = question ? zoneFor(state, question.name) : undefined;
  if (!question || !zone) return { ...reply, flags: RCODE.REFUSED };
  const rr = relativeName(zone, question.name);
  const visible = state.dnsRecords.filter(
    (r) =>
      r.domainName === zone.domainName &&
      r.status === 'ENABLE' &&
      nowMs - r.createTimestamp >= (faults.propagationDelayMs ?? 0),
  );
  const exact = visible.filter((r) => r.rr.toLowerCase() === rr);
  // A wildcard answers names that have no record of their own (RFC 4592, one level is enough here).
  const named = exact.length
    ? exact
    : visible.filter((r) => r.rr.startsWith('*') && rr.endsWith(r.rr.slice(1)) && rr !== r.rr.slice(2));
  const wanted = named.filter((r) => r.type === question.type || r.type === 'CNAME');
  const soa: dnsPacket.Answer = {
    name: zone.domainName,
    type: 'SOA',
    ttl: TTL_CAP,
    data: {
      mname: zone.dnsServers[0] ?? `ns1.${zone.domainName}`,
      rname: `hostmaster.${zone.domainName}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86_400,
      minimum: 60,
    },
  };
  if (wanted.length > 0)
    return {
      ...reply,
      answers: wanted.flatMap((r) => toAnswer(question.name, r, faults) ?? []),
    };
  if (question.type === 'SOA' && rr === '@') return { ...reply, answers: [soa] };
  if (question.type === 'NS' && rr === '@')
    return {
      ...reply,
      answers: zone.dnsServers.map((ns) => ({ name: zone.domainName, type: 'NS', ttl: TTL_CAP, data: ns })),
    };
  // NODATA when the name exists (or is an empty non-terminal), NXDOMAIN otherwise.
  const exists =
    rr === '@' || visible.some((r) => r.rr.toLowerCase() === rr || r.rr.toLowerCase().endsWith(`.${rr}`));
  return {
    ...reply,
    authorities: [soa],
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (exists ? 0 : RCODE.NXDOMAIN),
  };
}

export async function startDnsServer(options: DnsServerOptions): Promise<LocalDnsServer> {
  let faults: DnsFaults = {};
  const answer = (query: dnsPacket.Packet) =>
    answerQuery(options.state(), options.now().getTime(), faults, query);
  const respond = (msg: Buffer): Buffer | undefined => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined; // not DNS: no answer, as a real server drops garbage
    }
    return dnsPacket.encode(answer(query));
  };

  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const out = respond(msg);
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => resolve());
  });
  const port = udp.address().port;

  // TCP on the same port number: clients retry there when a UDP answer is truncated.
  const tcp: Server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const out = respond(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        if (out) socket.write(Buffer.concat([Buffer.from([out.length >> 8, out.length & 0xff]), out]));
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => {
    // The TCP port may be taken by someone else: then TCP is simply not offered.
    tcp.once('error', () => resolve());
    tcp.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    host: '127.0.0.1',
    port,
    setFaults: (f) => {
      faults = { ...f };
    },
    answer,
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => (tcp.listening ? tcp.close(() => resolve()) : resolve()));
    },
  };
}
