// Alibaba Cloud DNS (Alidns 2015-01-09) through the same RPC caller as SLB and CAS: the zones of the
// account, and the TXT records ACME DNS-01 adds and removes. Costs: one DescribeDomains page per 100
// zones, one Add and one Delete per challenge, one DescribeDomainRecords per name when cleaning up.

import type { RpcCaller } from './rpc-types';
import { list, num, reqStr, str } from './slb/wire';

export interface DnsZone {
  domainName: string;
  /** the zone's authoritative name servers */
  dnsServers: string[];
}

export interface DnsTxtRecord {
  recordId: string;
  /** relative to the zone: `_acme-challenge.www` */
  rr: string;
  value: string;
  /** epoch ms */
  createdAt: number;
}

const GLOBAL = 'cn-hangzhou';

export function createDnsClient(rpc: RpcCaller) {
  const call = (action: string, params: Record<string, string | number | undefined>, write: boolean) =>
    rpc.call({ product: 'alidns', action, regionId: GLOBAL, params, write });

  return {
    /** Every zone of the account, all pages. */
    async listZones(): Promise<DnsZone[]> {
      const out: DnsZone[] = [];
      const size = 100;
      for (let page = 1; ; page++) {
        const body = await call('DescribeDomains', { PageNumber: page, PageSize: size }, false);
        const domains = list(body, 'Domains', 'Domain');
        for (const d of domains) {
          const servers = (d.DnsServers as { DnsServer?: unknown[] } | undefined)?.DnsServer ?? [];
          out.push({
            domainName: reqStr(d.DomainName, 'DomainName').toLowerCase(),
            dnsServers: servers.map((s) => String(s)),
          });
        }
        if (domains.length < size || page * size >= (num(body.TotalCount) ?? 0)) break;
      }
      return out;
    },

    async addTxtRecord(req: { zone: string; rr: string; value: string; ttl?: number }): Promise<string> {
      const body = await call(
        'AddDomainRecord',
        { DomainName: req.zone, RR: req.rr, Type: 'TXT', Value: req.value, TTL: req.ttl ?? 600 },
        true,
      );
      return reqStr(body.RecordId, 'RecordId');
    },

    async deleteRecord(recordId: string): Promise<void> {
      await call('DeleteDomainRecord', { RecordId: recordId }, true);
    },

    /** The TXT records at exactly `rr` in the zone (the API's keyword search is fuzzy: filtered here). */
    async listTxtRecords(zone: string, rr: string): Promise<DnsTxtRecord[]> {
      const out: DnsTxtRecord[] = [];
      const size = 500;
      for (let page = 1; ; page++) {
        const body = await call(
          'DescribeDomainRecords',
          { DomainName: zone, RRKeyWord: rr, Type: 'TXT', PageNumber: page, PageSize: size },
          false,
        );
        const records = list(body, 'DomainRecords', 'Record');
        for (const r of records)
          if ((str(r.RR) ?? '').toLowerCase() === rr.toLowerCase())
            out.push({
              recordId: reqStr(r.RecordId, 'RecordId'),
              rr: str(r.RR) ?? '',
              value: str(r.Value) ?? '',
              createdAt: num(r.CreateTimestamp) ?? 0,
            });
        if (records.length < size || page * size >= (num(body.TotalCount) ?? 0)) break;
      }
      return out;
    },
  };
}

export type DnsClient = ReturnType<typeof createDnsClient>;
