// PEM certificate sources (files and environment variables) as the operator CLI and the deployed spec
// use them: only regular files of at most 64 KiB are read, within a timeout, and every unreadable
// source gives the same answer, so an error never tells what exists. Nothing is written to the cloud.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { CertificateError } from '../../shared/domain/certificate';
import { parseSpec } from '../../shared/domain/spec';
import { errorReport } from '../../shared/errors';
import { type ApplyDeps, applySpec } from '../../shared/workflows/apply';
import {
  CertificateSourceError,
  MAX_CERTIFICATE_FILE_BYTES,
  readCertificateFile,
} from '../../shared/workflows/certificate-source';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const withSource = (certificate: unknown): string => {
  const s = parseYaml(mallYaml);
  delete s.loadBalancers[0].id;
  s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
  s.loadBalancers[0].listeners[0].certificate = certificate;
  return stringify(s);
};

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slbap-pem-'));
  mkdirSync(join(dir, 'a-directory'));
  execFileSync('mkfifo', [join(dir, 'a-fifo')]);
  writeFileSync(join(dir, 'big.pem'), 'x'.repeat(65 * 1024));
  writeFileSync(join(dir, 'not-pem.txt'), 'hello\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let cloud: TestCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

const writeCalls = (c: TestCloud) =>
  Object.entries(c.calls().calls)
    .filter(([a]) => !/^(Describe|List|Get)/.test(a))
    .reduce((n, [, k]) => n + k, 0);

function depsFor(c: TestCloud, env: Record<string, string> = {}): ApplyDeps {
  const layer = cloudLayerFor(c);
  return {
    slb: layer.slb,
    cas: layer.cas,
    now: () => new Date(),
    env,
    readFile: (p) => readFileSync(p, 'utf8'),
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
  };
}

describe('PEM file sources', () => {
  it.each([
    ['/dev/zero (endless)', () => '/dev/zero'],
    ['a FIFO (would block)', () => join(dir, 'a-fifo')],
    ['a directory', () => join(dir, 'a-directory')],
    ['a missing file', () => join(dir, 'missing.pem')],
    ['a 65 KiB file', () => join(dir, 'big.pem')],
    ['a readable file that is not PEM', () => join(dir, 'not-pem.txt')],
    ['a symbolic link to /dev/zero', () => join(dir, 'zero-link')],
  ])('%s: the same safe error, nothing written', async (_name, path) => {
    if (_name.includes('symbolic')) symlinkSync('/dev/zero', join(dir, 'zero-link'));
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const before = cloud.state();
    const spec = parseSpec(withSource({ pem: { certFile: path(), keyFile: path() } }));
    const err = await applySpec(depsFor(cloud), spec).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      'loadBalancers[mall].listeners[443].certificate.pem.certFile: not a readable certificate file',
    );
    expect(err?.cause).toBeUndefined();
    expect(writeCalls(cloud)).toBe(0);
    expect(cloud.state()).toEqual(before);
  });

  it('reads a regular PEM file, and a chain exactly at the cap; one byte more is refused', async () => {
    const at = join(dir, 'at-cap.pem');
    writeFileSync(at, 'y'.repeat(MAX_CERTIFICATE_FILE_BYTES));
    expect((await readCertificateFile(at)).length).toBe(MAX_CERTIFICATE_FILE_BYTES);
    writeFileSync(at, 'y'.repeat(MAX_CERTIFICATE_FILE_BYTES + 1));
    await expect(readCertificateFile(at)).rejects.toThrow();
  });

  it('applies from PEM files that are regular files (the operator path still works)', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const [cas] = cloud.state().casCertificates;
    if (!cas) throw new Error('the mall has CAS certificates');
    writeFileSync(join(dir, 'cert.pem'), cas.certPem);
    writeFileSync(join(dir, 'key.pem'), cas.keyPem);
    const spec = parseSpec(
      withSource({ pem: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } }),
    );
    const result = await applySpec(depsFor(cloud), spec);
    expect(result.failed).toBeUndefined();
    expect(result.uploadedCertificates).toHaveLength(1);
  });
});

describe('PEM environment sources', () => {
  it.each([
    ['unset', {}],
    ['empty', { C: '', K: '' }],
    ['not PEM', { C: 'is set but not a certificate', K: 'x' }],
  ])('%s: one message for the certificate variable, nothing written', async (_name, env) => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const before = cloud.state();
    const spec = parseSpec(withSource({ pem: { certEnv: 'C', keyEnv: 'K' } }));
    await expect(applySpec(depsFor(cloud, env as Record<string, string>), spec)).rejects.toThrow(
      /^loadBalancers\[mall\]\.listeners\[443\]\.certificate\.pem\.certEnv: not a readable certificate \(environment variable unset or not PEM\)$/,
    );
    expect(writeCalls(cloud)).toBe(0);
    expect(cloud.state()).toEqual(before);
  });

  it('an unreadable key variable is named, with the same message whether unset or invalid', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const [cas] = cloud.state().casCertificates;
    if (!cas) throw new Error('the mall has CAS certificates');
    const spec = parseSpec(withSource({ pem: { certEnv: 'C', keyEnv: 'K' } }));
    const unset = await applySpec(depsFor(cloud, { C: cas.certPem }), spec).catch((e: Error) => e.message);
    const invalid = await applySpec(depsFor(cloud, { C: cas.certPem, K: 'nope' }), spec).catch(
      (e: Error) => e.message,
    );
    expect(unset).toMatch(/\.pem\.keyEnv: not a readable certificate/);
    expect(invalid).toBe(unset);
    expect(writeCalls(cloud)).toBe(0);
  });

  it("a key that is not the certificate's is named, the certificate's own problem kept as the cause", async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const [a, b] = cloud.state().casCertificates;
    if (!a || !b) throw new Error('the mall has two CAS certificates');
    const before = cloud.state();
    const spec = parseSpec(withSource({ pem: { certEnv: 'C', keyEnv: 'K' } }));
    const err = await applySpec(depsFor(cloud, { C: a.certPem, K: b.keyPem }), spec).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CertificateSourceError);
    expect((err as Error).message).toMatch(/^loadBalancers\[mall\]\.listeners\[443\]\.certificate: /);
    expect((err as Error).cause).toBeInstanceOf(CertificateError);
    expect(((err as Error).cause as CertificateError).reason).toBe('keyMismatch');
    expect(JSON.stringify(errorReport(err))).not.toContain(b.keyPem.split('\n')[1]);
    expect(writeCalls(cloud)).toBe(0);
    expect(cloud.state()).toEqual(before);
  });
});
