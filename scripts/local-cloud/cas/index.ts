// CAS (Certificate Management Service) 2020-04-07 actions the renewal workflow uses (fc-cas-devs §4.1):
// list certificates, read one with PEM and key, upload, delete. Errors use CAS's style of codes.
import { CertificateError, checkKeyMatches, parseCertificate } from '../../../shared/domain/certificate';
import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { CasCertificateRecord } from '../state';

export const CAS_VERSION = '2020-04-07';

const DAY = 86_400_000;
/** CAS calls a certificate WILLEXPIRED within 30 days of its end. */
const WILL_EXPIRE_MS = 30 * DAY;

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function status(c: CasCertificateRecord, nowMs: number): 'ISSUED' | 'WILLEXPIRED' | 'EXPIRED' {
  if (c.notAfter <= nowMs) return 'EXPIRED';
  return c.notAfter - nowMs <= WILL_EXPIRE_MS ? 'WILLEXPIRED' : 'ISSUED';
}

function listItem(c: CasCertificateRecord, nowMs: number): Record<string, unknown> {
  return {
    CertificateId: c.certId,
    Name: c.name,
    CommonName: c.commonName,
    Sans: c.sans.join(','),
    StartDate: ymd(c.notBefore),
    EndDate: ymd(c.notAfter),
    Expired: c.notAfter <= nowMs,
    Fingerprint: c.fingerprint,
    Sha2: c.sha2,
    SerialNo: c.serialNo,
    Issuer: c.issuer,
    OrgName: 'slb-autopilot local cloud',
    Country: 'CN',
    Province: 'Zhejiang',
    City: 'Hangzhou',
    ResourceGroupId: c.resourceGroupId,
    Upload: c.upload,
    Status: status(c, nowMs),
  };
}

function listUserCertificateOrder(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const orderType = p.oneOf('OrderType', ['CPACK', 'BUY', 'UPLOAD', 'CERT']) ?? 'CPACK';
  const wanted = p.oneOf('Status', [
    'PAYED',
    'CHECKING',
    'CHECKED_FAIL',
    'ISSUED',
    'WILLEXPIRED',
    'EXPIRED',
    'NOTACTIVATED',
    'REVOKED',
  ]);
  const page = p.int('CurrentPage', { min: 1 }) ?? 1;
  const size = p.int('ShowSize', { min: 1, max: 100 }) ?? 50;
  const keyword = p.str('Keyword')?.toLowerCase();
  const nowMs = ctx.now.getTime();
  // Orders (CPACK/BUY) are not modelled: the local cloud holds certificates only.
  const all =
    orderType === 'CERT' || orderType === 'UPLOAD'
      ? ctx.state.casCertificates.filter((c) => {
          if (orderType === 'UPLOAD' && !c.upload) return false;
          const s = status(c, nowMs);
          if (wanted ? s !== wanted : s === 'EXPIRED') return false;
          return (
            !keyword ||
            c.name.toLowerCase().includes(keyword) ||
            [c.commonName, ...c.sans].some((d) => d.toLowerCase().includes(keyword))
          );
        })
      : [];
  return {
    TotalCount: all.length,
    CurrentPage: page,
    ShowSize: size,
    CertificateOrderList: all.slice((page - 1) * size, page * size).map((c) => listItem(c, nowMs)),
  };
}

function findCert(ctx: ActionContext): CasCertificateRecord {
  const id = ctx.params.requiredInt('CertId', { min: 1 });
  const c = ctx.state.casCertificates.find((x) => x.certId === id);
  if (!c) throw new ApiError('NotFound', `The certificate ${id} does not exist.`, 404);
  return c;
}

function getUserCertificateDetail(ctx: ActionContext): Record<string, unknown> {
  const c = findCert(ctx);
  const filtered = ctx.params.bool('CertFilter') ?? false;
  const nowMs = ctx.now.getTime();
  return {
    Id: c.certId,
    Name: c.name,
    Common: c.commonName,
    Sans: c.sans.join(','),
    ...(filtered ? {} : { Cert: c.certPem, Key: c.keyPem }),
    StartDate: ymd(c.notBefore),
    EndDate: ymd(c.notAfter),
    NotBefore: c.notBefore,
    NotAfter: c.notAfter,
    Expired: c.notAfter <= nowMs,
    Fingerprint: c.fingerprint,
    SerialNo: c.serialNo,
    Sha2: c.sha2,
    Issuer: c.issuer,
    Algorithm: 'EC',
    BuyInAliyun: !c.upload,
    CertIdentifier: `${c.certId}-cn-hangzhou`,
    ResourceGroupId: c.resourceGroupId,
    CertChain: [
      {
        CommonName: c.commonName,
        IssuerCommonName: c.issuer,
        NotBefore: c.notBefore,
        NotAfter: c.notAfter,
        RemainDay: Math.max(0, Math.floor((c.notAfter - nowMs) / DAY)),
      },
    ],
  };
}

function uploadUserCertificate(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const name = p.requiredStr('Name');
  if (name.length > 64) throw invalidParameter('Name', 'must be at most 64 characters');
  if (ctx.state.casCertificates.some((c) => c.name === name))
    throw new ApiError('NameRepeat', 'A certificate with this name exists.');
  const certPem = p.requiredStr('Cert');
  const keyPem = p.requiredStr('Key');
  let parsed: ReturnType<typeof parseCertificate>;
  try {
    parsed = parseCertificate(certPem);
    checkKeyMatches(certPem, keyPem);
  } catch (err) {
    const reason = err instanceof CertificateError ? err.reason : 'malformed';
    throw reason === 'malformed'
      ? invalidParameter('Cert', 'is not a PEM certificate')
      : new ApiError('InvalidParameter.Key', 'The private key is not valid for the certificate.');
  }
  const certId = 13_000_000 + ctx.state.seq++;
  ctx.state.casCertificates.push({
    certId,
    name,
    commonName: parsed.commonName,
    sans: parsed.sans,
    certPem,
    keyPem,
    notBefore: parsed.notBefore.getTime(),
    notAfter: parsed.notAfter.getTime(),
    fingerprint: parsed.fingerprint.replace(/:/g, '').toUpperCase(),
    sha2: parsed.sha256.toUpperCase(),
    serialNo: parsed.serialNo,
    issuer: parsed.issuer,
    upload: true,
    resourceGroupId: p.str('ResourceGroupId') ?? 'rg-default',
    regionId: ctx.regionId,
  });
  return { CertId: certId, ResourceId: `cas-upload-${certId}` };
}

function deleteUserCertificate(ctx: ActionContext): Record<string, unknown> {
  const c = findCert(ctx);
  ctx.state.casCertificates = ctx.state.casCertificates.filter((x) => x !== c);
  return {};
}

export const casActions: ActionTable = {
  ListUserCertificateOrder: read(listUserCertificateOrder),
  GetUserCertificateDetail: read(getUserCertificateDetail),
  UploadUserCertificate: write(uploadUserCertificate),
  DeleteUserCertificate: write(deleteUserCertificate),
};
