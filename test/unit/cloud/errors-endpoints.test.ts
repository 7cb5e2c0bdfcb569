import { describe, expect, it } from 'vitest';
import { endpointFor } from '../../../shared/cloud/endpoints';
import { CloudError, toCloudError } from '../../../shared/cloud/errors';

describe('endpointFor', () => {
  it.each([
    ['slb', 'cn-hangzhou', 'public', 'slb.aliyuncs.com'],
    ['slb', 'ap-southeast-1', 'public', 'slb.aliyuncs.com'],
    ['slb', 'cn-zhangjiakou', 'public', 'slb.cn-zhangjiakou.aliyuncs.com'],
    ['slb', 'eu-central-1', 'public', 'slb.eu-central-1.aliyuncs.com'],
    ['slb', 'cn-huhehaote-nebula-1', 'public', 'slb-api.cn-qingdao-nebula.aliyuncs.com'],
    ['slb', 'eu-central-1', 'vpc', 'slb-vpc.eu-central-1.aliyuncs.com'],
    ['cas', 'cn-hangzhou', 'public', 'cas.aliyuncs.com'],
    ['cas', 'cn-zhangjiakou', 'public', 'cas.aliyuncs.com'],
    ['cas', 'ap-southeast-1', 'public', 'cas.ap-southeast-1.aliyuncs.com'],
  ] as const)('%s in %s (%s) -> %s', (product, region, network, host) => {
    expect(endpointFor(product, region, network)).toBe(host);
  });

  it('refuses something that is not a region id', () => {
    expect(() => endpointFor('slb', 'not a region')).toThrow(/regionId/);
  });
});

describe('toCloudError', () => {
  const sdk = (code: string, statusCode: number) =>
    Object.assign(new Error(`${code}: whatever the message says`), {
      code,
      statusCode,
      data: { RequestId: 'R-1', Code: code, Message: 'm' },
    });

  it.each([
    ['Throttling.User', 400, true],
    ['Throttling.Api', 400, true],
    ['Throttling', 400, true],
    ['ServiceUnavailable', 503, true],
    ['InternalError', 500, true],
    ['SomethingNew', 502, true],
    ['ServiceIsConfiguring', 400, true],
    ['Operation.Deny', 400, true],
    ['VServerGroupProcessing', 400, true],
    ['InvalidParameter', 400, false],
    ['MissingParameter', 400, false],
    ['SignatureDoesNotMatch', 400, false],
    ['InvalidAccessKeyId.NotFound', 404, false],
    ['CertificateAndPrivateKeyIsRefered', 400, false],
    ['Forbidden.RAM', 403, false],
  ])('classifies %s (HTTP %i) by code: retryable=%s', (code, status, retryable) => {
    const e = toCloudError('X', sdk(code, status));
    expect(e).toMatchObject({ action: 'X', code, httpStatus: status, retryable, requestId: 'R-1' });
  });

  it('never classifies by message text', () => {
    const e = toCloudError(
      'X',
      Object.assign(new Error('Throttling happened, ServiceUnavailable'), {
        code: 'InvalidParameter',
        statusCode: 400,
        data: { Code: 'InvalidParameter' },
      }),
    );
    expect(e.retryable).toBe(false);
  });

  it.each([
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'ECONNRESET'],
    [Object.assign(new Error('timeout'), { name: 'RequestTimeoutError' }), 'ReadTimeout'],
  ])('treats transport failures as retryable network errors %#', (err, code) => {
    const e = toCloudError('X', err);
    expect([e.code, e.retryable]).toEqual([code, true]);
    expect(e.cause).toBe(err);
  });

  it('withholds the string to sign of SignatureDoesNotMatch: under V1 it holds every parameter', () => {
    // Prepare: the real service's wording, with a private key among the signed parameters
    const message =
      'Specified signature is not matched with our calculation. server string to sign is:POST&%2F&PrivateKey%3D-----BEGIN';
    // Act
    const e = toCloudError(
      'UploadServerCertificate',
      Object.assign(new Error(message), {
        code: 'SignatureDoesNotMatch',
        statusCode: 400,
        data: { Code: 'SignatureDoesNotMatch', Message: message },
      }),
    );
    // Assess
    expect(e.message).toBe(
      'UploadServerCertificate: SignatureDoesNotMatch: Specified signature is not matched with our calculation. (server string to sign withheld)',
    );
  });

  it('passes a CloudError through', () => {
    const e = new CloudError({ action: 'A', code: 'InternalError', message: 'm' });
    expect(toCloudError('B', e)).toBe(e);
  });
});

describe('errors that are not from the API', () => {
  it('keep their own message and are not retried', () => {
    const e = toCloudError(
      'DescribeLoadBalancers',
      new Error('credentials: the default chain found no access key'),
    );
    expect([e.code, e.retryable]).toEqual(['UnknownError', false]);
    expect(e.message).toBe(
      'DescribeLoadBalancers: UnknownError: credentials: the default chain found no access key',
    );
  });
});
