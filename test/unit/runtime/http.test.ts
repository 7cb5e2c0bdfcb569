// The HTTP edge's one mapping from errors to answers: every error of the family is answered with its
// status, code and public fields, whatever its class, and nothing else leaves (no stack, no cause, no
// internal message).
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../../shared/cloud/errors';
import { LimitError } from '../../../shared/domain/limits';
import { SpecError } from '../../../shared/domain/spec';
import { GuardRefusedError, VerificationError } from '../../../shared/errors';
import { errorResponse, HttpError } from '../../../shared/runtime/http';
import { AppliedAtConflict } from '../../../shared/workflows/applied-at';
import { CertificateSourceError } from '../../../shared/workflows/certificate-source';
import { FailoverRequestError } from '../../../shared/workflows/failover';
import { LeaseHeldError } from '../../../shared/workflows/lease';
import { PairedStepError } from '../../../shared/workflows/paired-step';

const answer = (err: unknown) => {
  const r = errorResponse(err, 'req-1');
  return {
    status: r.statusCode,
    body: JSON.parse(r.body ?? '{}') as Record<string, unknown>,
    raw: r.body ?? '',
  };
};

/** A subclass the edge has never heard of: answered from what the family carries. */
class TeapotError extends GuardRefusedError {
  override name = 'TeapotError';
}

describe('errorResponse', () => {
  it.each<[string, unknown, number, Record<string, unknown>]>([
    [
      'a spec error: 400 InvalidSpec, its first line and every issue',
      new SpecError([{ path: 'loadBalancers[0].name', message: 'required' }], 'body'),
      400,
      {
        error: 'InvalidSpec',
        message: 'body is not valid:',
        issues: [{ path: 'loadBalancers[0].name', message: 'required' }],
      },
    ],
    [
      'a limit: 403 naming the limit and the field',
      new LimitError('SLB_AUTOPILOT_ALLOWED_REGIONS', 'region', 'not allowed'),
      403,
      { error: 'OutsideDeploymentLimits', limit: 'SLB_AUTOPILOT_ALLOWED_REGIONS', field: 'region' },
    ],
    [
      'another writer: 409 LoadBalancerBusy',
      new LeaseHeldError('lb-1', 'apply@x', '2026-01-01T00:00:00.000Z'),
      409,
      { error: 'LoadBalancerBusy', loadBalancerId: 'lb-1' },
    ],
    [
      'a replay: 409 Conflict naming the load balancer',
      new AppliedAtConflict('lb-1: a replay', 'lb-1'),
      409,
      { error: 'Conflict', message: 'lb-1: a replay', loadBalancerId: 'lb-1' },
    ],
    [
      'a certificate source: 422 naming the field',
      new CertificateSourceError('loadBalancers[0].listeners[0].certificate.cas', 'CAS holds none'),
      422,
      { error: 'InvalidCertificateSource', field: 'loadBalancers[0].listeners[0].certificate.cas' },
    ],
    [
      'a failover request: 422',
      new FailoverRequestError('loadBalancerId', 'lb-9 is not a load balancer the spec manages'),
      422,
      { error: 'InvalidFailoverRequest', field: 'loadBalancerId' },
    ],
    [
      "a cloud error: 502 CloudApiError, the provider's code inside `cloud`",
      new CloudError({
        action: 'SetVServerGroupAttribute',
        code: 'Throttling',
        message: 'slow down',
        requestId: 'r-9',
      }),
      502,
      {
        error: 'CloudApiError',
        cloud: { action: 'SetVServerGroupAttribute', code: 'Throttling', requestId: 'r-9' },
      },
    ],
    [
      'an HttpError: its status, code and details',
      new HttpError(413, 'PayloadTooLarge', 'body: too large', { limitBytes: 10 }),
      413,
      { error: 'PayloadTooLarge', message: 'body: too large', limitBytes: 10 },
    ],
    [
      'a class the edge does not know: its status and code from the family',
      new TeapotError('no coffee here', { status: 418, code: 'Teapot', field: 'body.drink' }),
      418,
      { error: 'Teapot', message: 'no coffee here', field: 'body.drink' },
    ],
    [
      'a family error without a code: the family name of its kind',
      new (class extends VerificationError {})('the served certificate differs'),
      502,
      { error: 'VerificationFailed' },
    ],
    [
      'a failed step: answered by its cause',
      new PairedStepError(
        'bind-1',
        'bind',
        new CloudError({ action: 'SetListener', code: 'Forbidden.RAM', message: 'no' }),
      ),
      502,
      {
        error: 'CloudApiError',
        cloud: { action: 'SetListener', code: 'Forbidden.RAM' },
      },
    ],
  ])('%s', (_name, err, status, body) => {
    const r = answer(err);
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ ...body, requestId: 'req-1' });
    expect(r.raw).not.toMatch(/\n\s+at |\.ts:\d+|"cause"|"stack"/);
  });

  it.each([
    ['a plain Error', new Error('ECONNREFUSED 10.0.0.1:5432 at /srv/app/db.ts')],
    [
      'a failed step whose cause is not ours',
      new PairedStepError('bind-1', 'bind', new TypeError('x is undefined')),
    ],
    ['a thrown string', 'secret-ish internal text'],
  ])('%s is an opaque 500 that says nothing of it', (_name, err) => {
    const r = answer(err);
    expect(r.status).toBe(500);
    expect(r.body).toEqual({
      error: 'InternalError',
      message: 'the request failed; see the function log for this request id',
      requestId: 'req-1',
    });
  });
});
