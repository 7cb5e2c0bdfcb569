// CAS 2020-04-07 through the same RPC caller as SLB (one OpenAPI core in every bundle: measured with
// esbuild --minify, openapi-client alone is 569 KB, with @alicloud/cas20200407 1.x 660 KB, with 3.x 729 KB).
// Private keys come back wrapped in a Secret, which never prints its value.

import { inspect } from 'node:util';
import type { RpcCaller } from './rpc-types';
import { num, reqNum, str } from './slb/wire';

/** A value that stays out of logs: toString, JSON and util.inspect all show `[redacted]`. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}

export interface CasCertificate {
  certId: number;
  name: string;
  commonName: string;
  sans: string[];
  /** epoch ms (from the YYYY-MM-DD dates in listings; exact in details) */
  notBefore: number;
  notAfter: number;
  expired: boolean;
  fingerprint?: string;
  issuer?: string;
}

export interface CasCertificateWithKey extends CasCertificate {
  certPem: string;
  privateKey: Secret;
}

const splitSans = (v: unknown) =>
  (str(v) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function createCasClient(rpc: RpcCaller, regionId = 'cn-hangzhou') {
  return {
    /** Every valid certificate (issued or uploaded), all pages; `keyword` matches domain or name. */
    async listCertificates(
      req: { keyword?: string; status?: 'ISSUED' | 'WILLEXPIRED' | 'EXPIRED' } = {},
    ): Promise<CasCertificate[]> {
      const out: CasCertificate[] = [];
      const size = 50;
      for (let page = 1; ; page++) {
        const body = await rpc.call({
          product: 'cas',
          action: 'ListUserCertificateOrder',
          regionId,
          params: {
            OrderType: 'CERT',
            CurrentPage: page,
            ShowSize: size,
            Keyword: req.keyword,
            Status: req.status,
          },
          write: false,
        });
        const items = Array.isArray(body.CertificateOrderList)
          ? (body.CertificateOrderList as Record<string, unknown>[])
          : [];
        for (const c of items) {
          out.push({
            certId: reqNum(c.CertificateId, 'CertificateId'),
            name: str(c.Name) ?? '',
            commonName: str(c.CommonName) ?? '',
            sans: splitSans(c.Sans),
            notBefore: Date.parse(`${str(c.StartDate)}T00:00:00Z`),
            notAfter: Date.parse(`${str(c.EndDate)}T00:00:00Z`),
            expired: c.Expired === true || c.Expired === 'true',
            fingerprint: str(c.Fingerprint),
            issuer: str(c.Issuer),
          });
        }
        if (items.length < size || page * size >= (num(body.TotalCount) ?? 0)) break;
      }
      return out;
    },

    /** One certificate with its PEM chain and private key. */
    async getCertificate(certId: number): Promise<CasCertificateWithKey> {
      const body = await rpc.call({
        product: 'cas',
        action: 'GetUserCertificateDetail',
        regionId,
        params: { CertId: certId },
        write: false,
      });
      return {
        certId: reqNum(body.Id, 'Id'),
        name: str(body.Name) ?? '',
        commonName: str(body.Common) ?? '',
        sans: splitSans(body.Sans),
        notBefore: num(body.NotBefore) ?? 0,
        notAfter: num(body.NotAfter) ?? 0,
        expired: body.Expired === true,
        fingerprint: str(body.Fingerprint),
        issuer: str(body.Issuer),
        certPem: str(body.Cert) ?? '',
        privateKey: new Secret(str(body.Key) ?? ''),
      };
    },

    async uploadCertificate(req: {
      name: string;
      certPem: string;
      privateKey: Secret;
    }): Promise<{ certId: number }> {
      const body = await rpc.call({
        product: 'cas',
        action: 'UploadUserCertificate',
        regionId,
        params: { Name: req.name, Cert: req.certPem, Key: req.privateKey.reveal() },
        write: true,
      });
      return { certId: reqNum(body.CertId, 'CertId') };
    },
  };
}

export type CasClient = ReturnType<typeof createCasClient>;
