// Typed SLB actions: server certificates. SLB certificates are immutable and regional: rotation uploads
// a new one in the load balancer's region, switches references, and deletes the old one later.
import { deleteIdempotently } from '../errors';
import type { RpcCaller } from '../rpc-types';
import { list, num, reqStr, scalarList, str, type Tag, tagParam, tags } from './wire';

export interface ServerCertificate {
  serverCertificateId: string;
  serverCertificateName: string;
  regionId: string;
  /** colon-separated SHA-1 hex */
  fingerprint: string;
  commonName: string;
  subjectAlternativeNames: string[];
  /** epoch ms */
  expireTimeStamp: number;
  /** epoch ms */
  createTimeStamp?: number;
  isAliCloudCertificate: boolean;
  aliCloudCertificateId?: string;
  tags: Tag[];
}

export type UploadCertificateRequest = {
  regionId: string;
  /** 1-80 characters */
  serverCertificateName?: string;
  tags?: Tag[];
} & (
  | { pem: { certificate: string; privateKey: string } }
  | { cas: { certificateId: string; certificateName: string; regionId: string } }
);

function toCertificate(o: Record<string, unknown>): ServerCertificate {
  return {
    serverCertificateId: reqStr(o.ServerCertificateId, 'ServerCertificateId'),
    serverCertificateName: str(o.ServerCertificateName) ?? '',
    regionId: str(o.RegionId) ?? '',
    fingerprint: str(o.Fingerprint) ?? '',
    commonName: str(o.CommonName) ?? '',
    subjectAlternativeNames: scalarList(o, 'SubjectAlternativeNames', 'SubjectAlternativeName'),
    expireTimeStamp: num(o.ExpireTimeStamp) ?? Date.parse(str(o.ExpireTime) ?? ''),
    createTimeStamp: num(o.CreateTimeStamp),
    isAliCloudCertificate: num(o.IsAliCloudCertificate) === 1,
    aliCloudCertificateId: str(o.AliCloudCertificateId) || undefined,
    tags: tags(o),
  };
}

export function certificateApi(rpc: RpcCaller) {
  return {
    async uploadServerCertificate(req: UploadCertificateRequest): Promise<ServerCertificate> {
      const source =
        'pem' in req
          ? { ServerCertificate: req.pem.certificate, PrivateKey: req.pem.privateKey }
          : {
              AliCloudCertificateId: req.cas.certificateId,
              AliCloudCertificateName: req.cas.certificateName,
              AliCloudCertificateRegionId: req.cas.regionId,
            };
      const body = await rpc.call({
        product: 'slb',
        action: 'UploadServerCertificate',
        regionId: req.regionId,
        params: { ServerCertificateName: req.serverCertificateName, ...source, Tag: tagParam(req.tags) },
        write: true,
      });
      return toCertificate({ RegionId: req.regionId, ...body });
    },

    /** Every certificate in the region (the API has no paging), or the one asked for. */
    async describeServerCertificates(req: {
      regionId: string;
      serverCertificateId?: string;
      tags?: Tag[];
    }): Promise<ServerCertificate[]> {
      const body = await rpc.call({
        product: 'slb',
        action: 'DescribeServerCertificates',
        regionId: req.regionId,
        params: { ServerCertificateId: req.serverCertificateId, Tag: tagParam(req.tags) },
        write: false,
      });
      return list(body, 'ServerCertificates', 'ServerCertificate').map(toCertificate);
    },

    /** Idempotent: a certificate that is already gone counts as deleted. */
    deleteServerCertificate(req: { regionId: string; serverCertificateId: string }): Promise<void> {
      const write = () =>
        rpc.call({
          product: 'slb',
          action: 'DeleteServerCertificate',
          regionId: req.regionId,
          params: { ServerCertificateId: req.serverCertificateId },
          write: true,
        });
      return deleteIdempotently(write, 'ServerCertificateId.NotFound');
    },

    async renameServerCertificate(req: {
      regionId: string;
      serverCertificateId: string;
      serverCertificateName: string;
    }): Promise<void> {
      await rpc.call({
        product: 'slb',
        action: 'SetServerCertificateName',
        regionId: req.regionId,
        params: {
          ServerCertificateId: req.serverCertificateId,
          ServerCertificateName: req.serverCertificateName,
        },
        write: true,
      });
    },
  };
}
