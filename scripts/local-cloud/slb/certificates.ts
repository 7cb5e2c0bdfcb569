// SLB 2014-05-15 actions: server certificates (reference §6.6). Uploads are parsed as real X.509; the
// PEM and key are kept (the TLS front ends serve them) but never returned by the API.
import { CertificateError, checkKeyMatches, parseCertificate } from '../../../shared/domain/certificate';
import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { ServerCertificateRecord } from '../state';
import { isoSeconds, matchesTags, tagsBody } from './common';

const NAME = /^[A-Za-z0-9\-/._*\u4e00-\u9fa5]{1,80}$/;

function certificateName(ctx: ActionContext, param: string, required: boolean): string | undefined {
  const name = required ? ctx.params.requiredStr(param) : ctx.params.str(param);
  if (name !== undefined && !NAME.test(name))
    throw invalidParameter(param, 'must be 1-80 letters, digits, -, /, ., _ or *');
  return name;
}

function body(c: ServerCertificateRecord): Record<string, unknown> {
  return {
    ServerCertificateId: c.serverCertificateId,
    ServerCertificateName: c.serverCertificateName,
    Fingerprint: c.fingerprint,
    CommonName: c.commonName,
    SubjectAlternativeNames: { SubjectAlternativeName: c.subjectAlternativeNames },
    ExpireTime: c.expireTime,
    ExpireTimeStamp: c.expireTimeStamp,
    CreateTime: c.createTime,
    CreateTimeStamp: c.createTimeStamp,
    IsAliCloudCertificate: c.isAliCloudCertificate,
    AliCloudCertificateId: c.aliCloudCertificateId,
    AliCloudCertificateName: c.aliCloudCertificateName,
    RegionId: c.regionId,
    ResourceGroupId: c.resourceGroupId,
  };
}

/** Parse errors in the API's codes; the key is never echoed. */
function parsePair(certPem: string, keyPem: string) {
  let parsed: ReturnType<typeof parseCertificate>;
  try {
    parsed = parseCertificate(certPem);
  } catch {
    throw new ApiError('InvalidParameter', 'The specified parameter ServerCertificate format is error.');
  }
  try {
    checkKeyMatches(certPem, keyPem);
  } catch (err) {
    const reason = err instanceof CertificateError ? err.reason : 'keyMalformed';
    if (reason === 'keyMismatch')
      throw new ApiError('CertificateNotMatchPrivateKey', 'The certificate does not match the private key.');
    if (reason === 'keyEncrypted')
      throw new ApiError('PrivateKeyEncryption', 'The private key must not be encrypted.');
    throw new ApiError('KeyFormatError', 'The private key format is wrong.');
  }
  return parsed;
}

function uploadServerCertificate(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const name = certificateName(ctx, 'ServerCertificateName', false);
  const tags = p.tags();
  const casId = p.str('AliCloudCertificateId');
  let pem: { certPem: string; keyPem: string };
  let cas: { id: string; name: string } | undefined;
  if (casId !== undefined || p.has('AliCloudCertificateName')) {
    const casName = p.requiredStr('AliCloudCertificateName');
    p.requiredStr('AliCloudCertificateRegionId');
    const id = p.requiredStr('AliCloudCertificateId');
    const source = ctx.state.casCertificates.find((c) => String(c.certId) === id);
    // The reference lists no code for an unknown CAS id; the parameter-named form matches SLB's habit.
    if (!source)
      throw new ApiError(
        'InvalidParameter.AliCloudCertificateId',
        'The specified AliCloudCertificateId does not exist.',
      );
    pem = { certPem: source.certPem, keyPem: source.keyPem };
    cas = { id, name: casName };
  } else {
    pem = { certPem: p.requiredStr('ServerCertificate'), keyPem: p.requiredStr('PrivateKey') };
  }
  const parsed = parsePair(pem.certPem, pem.keyPem);
  const inRegion = ctx.state.serverCertificates.filter((c) => c.regionId === ctx.regionId).length;
  // Quota: 100 per region by default. The reference names no code; OverQuota is SLB's general one.
  if (inRegion >= ctx.limits.serverCertificatesPerRegion) {
    throw new ApiError(
      'OverQuota',
      `The number of server certificates in the region exceeds the quota of ${ctx.limits.serverCertificatesPerRegion}.`,
    );
  }
  const record: ServerCertificateRecord = {
    serverCertificateId: `${ctx.newId('1231579085529123_')}`,
    serverCertificateName: name ?? cas?.name ?? parsed.commonName,
    regionId: ctx.regionId,
    resourceGroupId: p.str('ResourceGroupId') ?? 'rg-default',
    fingerprint: parsed.fingerprint,
    commonName: parsed.commonName,
    subjectAlternativeNames: parsed.sans,
    expireTime: isoSeconds(parsed.notAfter),
    expireTimeStamp: parsed.notAfter.getTime(),
    createTime: isoSeconds(ctx.now),
    createTimeStamp: ctx.now.getTime(),
    isAliCloudCertificate: cas ? 1 : 0,
    aliCloudCertificateId: cas?.id ?? '',
    aliCloudCertificateName: cas?.name ?? '',
    certificatePem: pem.certPem,
    privateKeyPem: pem.keyPem,
    tags: tags.map((t) => ({ key: t.key, value: t.value ?? '' })),
  };
  ctx.state.serverCertificates.push(record);
  return body(record);
}

function describeServerCertificates(ctx: ActionContext): Record<string, unknown> {
  const id = ctx.params.str('ServerCertificateId');
  const group = ctx.params.str('ResourceGroupId');
  const tagFilter = ctx.params.tags();
  // An unknown id filter gives an empty list, not an error.
  const found = ctx.state.serverCertificates.filter(
    (c) =>
      c.regionId === ctx.regionId &&
      (id === undefined || c.serverCertificateId === id) &&
      (group === undefined || c.resourceGroupId === group) &&
      matchesTags(c.tags, tagFilter),
  );
  // Only the listing carries Tags (official response models); the upload answer does not.
  return {
    ServerCertificates: { ServerCertificate: found.map((c) => ({ ...body(c), Tags: tagsBody(c.tags) })) },
  };
}

function findCertificate(ctx: ActionContext): ServerCertificateRecord {
  const id = ctx.params.requiredStr('ServerCertificateId');
  const c = ctx.state.serverCertificates.find(
    (x) => x.serverCertificateId === id && x.regionId === ctx.regionId,
  );
  if (!c)
    throw new ApiError(
      'ServerCertificateId.NotFound',
      'The specified ServerCertificateId does not exist.',
      404,
    );
  return c;
}

function deleteServerCertificate(ctx: ActionContext): Record<string, unknown> {
  const c = findCertificate(ctx);
  const id = c.serverCertificateId;
  const used =
    ctx.state.listeners.some((l) => l.serverCertificateId === id || l.caCertificateId === id) ||
    ctx.state.domainExtensions.some((d) => d.serverCertificateId === id);
  if (used)
    throw new ApiError(
      'CertificateAndPrivateKeyIsRefered',
      'The specified certificate is in use by a listener or domain extension.',
    );
  ctx.state.serverCertificates = ctx.state.serverCertificates.filter((x) => x !== c);
  return {};
}

function setServerCertificateName(ctx: ActionContext): Record<string, unknown> {
  const c = findCertificate(ctx);
  c.serverCertificateName = certificateName(ctx, 'ServerCertificateName', true)!;
  return {};
}

export const certificatesActions: ActionTable = {
  UploadServerCertificate: write(uploadServerCertificate),
  DescribeServerCertificates: read(describeServerCertificates),
  DeleteServerCertificate: write(deleteServerCertificate),
  SetServerCertificateName: write(setServerCertificateName),
};
