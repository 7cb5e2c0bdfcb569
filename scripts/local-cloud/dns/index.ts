// Alibaba Cloud DNS (Alidns) 2015-01-09: the actions ACME DNS-01 issuance uses (find the zone a name
// lives in, add and remove `_acme-challenge` TXT records, list them) on the zones and records the local
// cloud holds; the authoritative DNS server (dns/server.ts) answers from the same state. Alidns is a
// global service: no RegionId. Shapes follow reference/openapi/alidns-2015-01-09.json; error codes are
// the service's own (DomainRecordDuplicate, InvalidDomainName.NoExist, DomainRecordNotBelongToUser).

import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { DnsDomainRecord, DnsRecordRecord } from '../state';

export const ALIDNS_VERSION = '2015-01-09';

const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'CAA', 'MX', 'NS'] as const;
/** The free edition's minimum TTL; paid editions go lower (DescribeDomainInfo.MinTtl). */
const MIN_TTL = 600;
const MAX_TTL = 86_400;

const noSuchDomain = () =>
  new ApiError(
    'InvalidDomainName.NoExist',
    'The specified domain name does not exist. Refresh the page and try again.',
  );

function zone(ctx: ActionContext, name: string): DnsDomainRecord {
  const found = ctx.state.dnsDomains.find((d) => d.domainName === name.toLowerCase());
  if (!found) throw noSuchDomain();
  return found;
}

function page(ctx: ActionContext, maxSize: number): { number: number; size: number } {
  return {
    number: ctx.params.int('PageNumber', { min: 1 }) ?? 1,
    size: ctx.params.int('PageSize', { min: 1, max: maxSize }) ?? 20,
  };
}

/** RR: `@`, `*`, or labels of letters, digits, `-` and `_` (for `_acme-challenge`), dot-separated. */
const RR = /^(@|\*|(\*\.)?[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*)$/;

function recordItem(r: DnsRecordRecord): Record<string, unknown> {
  return {
    DomainName: r.domainName,
    RecordId: r.recordId,
    RR: r.rr,
    Type: r.type,
    Value: r.value,
    TTL: r.ttl,
    Line: r.line,
    Status: r.status,
    Locked: false,
    Weight: 1,
    ...(r.priority !== undefined ? { Priority: r.priority } : {}),
    CreateTimestamp: r.createTimestamp,
    UpdateTimestamp: r.updateTimestamp,
  };
}

function addDomainRecord(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const z = zone(ctx, p.requiredStr('DomainName'));
  const rr = p.requiredStr('RR');
  if (!RR.test(rr)) throw invalidParameter('RR');
  const type = p.requiredStr('Type').toUpperCase();
  if (!(RECORD_TYPES as readonly string[]).includes(type)) throw invalidParameter('Type');
  const value = p.requiredStr('Value');
  if (value.length > 512) throw invalidParameter('Value', 'is too long');
  const ttl = p.int('TTL') ?? MIN_TTL;
  if (ttl < MIN_TTL || ttl > MAX_TTL) throw invalidParameter('TTL', `must be ${MIN_TTL}-${MAX_TTL}`);
  const priority = p.int('Priority', { min: 1, max: 50 });
  if (type === 'MX' && priority === undefined)
    throw new ApiError(
      'MissingParameter',
      'The input parameter "Priority" that is mandatory for processing this request is not supplied.',
    );
  const line = p.str('Line') ?? 'default';
  const sameName = ctx.state.dnsRecords.filter(
    (r) => r.domainName === z.domainName && r.rr.toLowerCase() === rr.toLowerCase() && r.line === line,
  );
  if (sameName.some((r) => r.type === type && r.value === value))
    throw new ApiError('DomainRecordDuplicate', 'The DNS record already exists.');
  if ((type === 'CNAME' && sameName.length > 0) || sameName.some((r) => r.type === 'CNAME'))
    throw new ApiError('DomainRecordConflict', 'The DNS record conflicts with other records.');
  const nowMs = ctx.now.getTime();
  // Record ids are numeric strings, unique in the account: one past the highest so far.
  const recordId = String(
    Math.max(1_900_000_000, ...ctx.state.dnsRecords.map((r) => Number(r.recordId) || 0)) + 1,
  );
  ctx.state.dnsRecords.push({
    recordId,
    domainName: z.domainName,
    rr,
    type: type as DnsRecordRecord['type'],
    value,
    ttl,
    line,
    ...(type === 'MX' && priority !== undefined ? { priority } : {}),
    status: 'ENABLE',
    createTimestamp: nowMs,
    updateTimestamp: nowMs,
  });
  return { RecordId: recordId };
}

function deleteDomainRecord(ctx: ActionContext): Record<string, unknown> {
  const recordId = ctx.params.requiredStr('RecordId');
  const i = ctx.state.dnsRecords.findIndex((r) => r.recordId === recordId);
  if (i < 0) throw new ApiError('DomainRecordNotBelongToUser', 'The DNS record does not belong to you.');
  ctx.state.dnsRecords.splice(i, 1);
  return { RecordId: recordId };
}

function describeDomainRecords(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const z = zone(ctx, p.requiredStr('DomainName'));
  const { number, size } = page(ctx, 500);
  const exact = (p.str('SearchMode') ?? '').toUpperCase() === 'EXACT';
  const rrKey = (p.str('RRKeyWord') ?? p.str('KeyWord'))?.toLowerCase();
  const type = (p.str('Type') ?? p.str('TypeKeyWord'))?.toUpperCase();
  const valueKey = p.str('ValueKeyWord');
  const matches = ctx.state.dnsRecords.filter(
    (r) =>
      r.domainName === z.domainName &&
      (rrKey === undefined || (exact ? r.rr.toLowerCase() === rrKey : r.rr.toLowerCase().includes(rrKey))) &&
      (type === undefined || r.type === type) &&
      (valueKey === undefined || r.value.includes(valueKey)),
  );
  return {
    TotalCount: matches.length,
    PageNumber: number,
    PageSize: size,
    DomainRecords: { Record: matches.slice((number - 1) * size, number * size).map(recordItem) },
  };
}

function domainItem(ctx: ActionContext, d: DnsDomainRecord): Record<string, unknown> {
  return {
    DomainId: d.domainId,
    DomainName: d.domainName,
    PunyCode: d.domainName,
    AliDomain: false,
    CreateTimestamp: d.createTimestamp,
    CreateTime: new Date(d.createTimestamp).toISOString().replace(/:\d{2}\.\d{3}Z$/, 'Z'),
    RecordCount: ctx.state.dnsRecords.filter((r) => r.domainName === d.domainName).length,
    DnsServers: { DnsServer: [...d.dnsServers] },
    VersionCode: 'mianfei',
    VersionName: 'Alibaba Cloud DNS Free Edition',
    ResourceGroupId: 'rg-acfmlocal0default',
    Starmark: false,
  };
}

function describeDomains(ctx: ActionContext): Record<string, unknown> {
  const { number, size } = page(ctx, 100);
  const key = ctx.params.str('KeyWord')?.toLowerCase();
  const matches = ctx.state.dnsDomains.filter((d) => key === undefined || d.domainName.includes(key));
  return {
    TotalCount: matches.length,
    PageNumber: number,
    PageSize: size,
    Domains: { Domain: matches.slice((number - 1) * size, number * size).map((d) => domainItem(ctx, d)) },
  };
}

function describeDomainInfo(ctx: ActionContext): Record<string, unknown> {
  const d = zone(ctx, ctx.params.requiredStr('DomainName'));
  const { RecordCount: _count, Starmark: _star, CreateTimestamp: _ts, ...info } = domainItem(ctx, d);
  return { ...info, MinTtl: MIN_TTL, SubDomain: false, SlaveDns: false, InBlackHole: false, InClean: false };
}

export const alidnsActions: ActionTable = {
  AddDomainRecord: write(addDomainRecord),
  DeleteDomainRecord: write(deleteDomainRecord),
  DescribeDomainRecords: read(describeDomainRecords),
  DescribeDomains: read(describeDomains),
  DescribeDomainInfo: read(describeDomainInfo),
};
