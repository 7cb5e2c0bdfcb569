// TLS probe: failure kinds by error code, real loopback handshakes (served leaf, SNI, each failure
// mode), and the bounded wait with an injected probe and sleep (no real delays).

import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type IssuedCertificate } from '../../../scripts/local-cloud/pki';
import {
  classifyTlsError,
  fetchServedCertificate,
  type ServedCertificate,
  TlsProbeError,
  type TlsProbeRequest,
  waitForServedCertificate,
} from '../../../shared/cloud/tls-probe';
import { parseCertificate } from '../../../shared/domain/certificate';
import { normalizeFingerprint } from '../../../shared/domain/keys';

const DAY = 86_400_000;
let caPem: string;
let main: IssuedCertificate;
let other: IssuedCertificate;

beforeAll(async () => {
  const ca = await createTestCa({ now: new Date() });
  caPem = ca.certPem;
  const issue = (domain: string) =>
    ca.issue({
      commonName: domain,
      sans: [domain],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
  [main, other] = await Promise.all([issue('main.example.com'), issue('other.example.com')]);
});

const servers: (NetServer | TlsServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen<S extends NetServer | TlsServer>(server: S): Promise<number> {
  servers.push(server);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as S['close'];
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

/** A TLS server: `main` by default, `other` for SNI other.example.com. */
function tlsServer(): Promise<number> {
  const otherCtx = createSecureContext({ cert: other.chainPem, key: other.keyPem });
  return listen(
    createTlsServer({
      cert: main.chainPem,
      key: main.keyPem,
      SNICallback: (name, cb) => cb(null, name === 'other.example.com' ? otherCtx : undefined),
    }),
  );
}

async function failure(p: Promise<unknown>): Promise<TlsProbeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TlsProbeError)) throw new Error(`expected a TlsProbeError, got ${String(err)}`);
  return err;
}

describe('classifyTlsError', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ETIMEDOUT', 'timeout'],
    ['ENOTFOUND', 'unreachable'],
    ['EAI_AGAIN', 'unreachable'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'handshake'],
    ['EPROTO', 'handshake'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'handshake'],
    ['CERT_HAS_EXPIRED', 'untrusted'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'untrusted'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'untrusted'],
    [undefined, 'handshake'],
  ])('%s -> %s', (code, kind) => {
    // the message is never looked at
    const err = Object.assign(new Error('ECONNREFUSED in the text means nothing'), { code });
    expect(classifyTlsError(err)).toBe(kind);
  });

  it('marks only the kinds that may heal by waiting as retryable', () => {
    const at = { host: 'h', port: 1 };
    const retryable = (['refused', 'timeout', 'unreachable', 'reset', 'handshake', 'untrusted'] as const).map(
      (k) => new TlsProbeError(k, at, 'x').retryable,
    );
    expect(retryable).toEqual([true, true, true, true, false, false]);
  });
});

describe('fetchServedCertificate', () => {
  it('reads the served leaf: fingerprints as SLB and the domain model write them, CN, SANs, expiry', async () => {
    // Prepare
    const port = await tlsServer();
    const expected = parseCertificate(main.certPem);
    // Act
    const got = await fetchServedCertificate({ host: '127.0.0.1', port, servername: 'main.example.com' });
    // Assess
    expect(got).toMatchObject({
      fingerprintSha1: expected.fingerprint,
      fingerprintSha256: expected.sha256,
      subjectCN: 'main.example.com',
      sans: ['main.example.com'],
      notAfter: expected.notAfter,
      authorized: false,
    });
    expect(got.fingerprintSha1).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    expect(parseCertificate(got.pem).fingerprint).toBe(expected.fingerprint);
  });

  it('sends the SNI server name, and none for an IP literal', async () => {
    const port = await tlsServer();
    const bySni = await fetchServedCertificate({ host: '127.0.0.1', port, servername: 'other.example.com' });
    const byIp = await fetchServedCertificate({ host: '127.0.0.1', port, servername: '127.0.0.1' });
    expect(bySni.subjectCN).toBe('other.example.com');
    expect(byIp.subjectCN).toBe('main.example.com');
  });

  it('verifies against a given CA when asked, and reports an untrusted chain otherwise', async () => {
    const port = await tlsServer();
    const base = { host: '127.0.0.1', port, servername: 'main.example.com', rejectUnauthorized: true };
    const trusted = await fetchServedCertificate({ ...base, ca: caPem });
    const untrusted = await failure(fetchServedCertificate(base));
    const wrongName = await failure(
      fetchServedCertificate({ ...base, servername: 'nope.example.com', ca: caPem }),
    );
    expect(trusted.authorized).toBe(true);
    expect(untrusted).toMatchObject({ reason: 'untrusted', retryable: false });
    expect(wrongName).toMatchObject({ reason: 'untrusted', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('classifies a closed port as refused', async () => {
    // Prepare: a port that was just free
    const port = await listen(createNetServer());
    await new Promise((r) => servers.pop()?.close(r));
    // Act
    const err = await failure(
      fetchServedCertificate({ host: '127.0.0.1', port, servername: 'a.example.com' }),
    );
    // Assess
    expect(err).toMatchObject({ reason: 'refused', code: 'ECONNREFUSED', retryable: true, port });
    expect(err.message).toContain(`127.0.0.1:${port} (SNI a.example.com): refused`);
  });

  it('classifies a silent peer as a timeout', async () => {
    const port = await listen(createNetServer(() => undefined));
    const err = await failure(fetchServedCertificate({ host: '127.0.0.1', port, timeoutMs: 50 }));
    expect(err).toMatchObject({ reason: 'timeout', retryable: true });
    expect(err.message).toContain('50 ms');
  });

  it('classifies a peer that hangs up as reset', async () => {
    const port = await listen(createNetServer((s) => s.destroy()));
    const err = await failure(fetchServedCertificate({ host: '127.0.0.1', port }));
    expect(err).toMatchObject({ reason: 'reset', retryable: true });
  });

  it('classifies a peer that does not speak TLS as a handshake failure', async () => {
    const port = await listen(
      createNetServer((s) => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')),
    );
    const err = await failure(fetchServedCertificate({ host: '127.0.0.1', port }));
    expect(err).toMatchObject({ reason: 'handshake', retryable: false });
    expect(err.code).toMatch(/^ERR_SSL_|^EPROTO$/);
  });

  it.each([
    [{ host: '', port: 443 }, 'tlsProbe.host'],
    [{ host: 'h', port: 0 }, 'tlsProbe.port'],
    [{ host: 'h', port: 443, timeoutMs: 0 }, 'tlsProbe.timeoutMs'],
  ])('refuses %j naming the field', async (req, field) => {
    await expect(fetchServedCertificate(req)).rejects.toThrow(field);
  });
});

describe('waitForServedCertificate', () => {
  const leaf = (fp: string): ServedCertificate => ({
    fingerprintSha1: fp,
    fingerprintSha256: 'ab'.repeat(32),
    subjectCN: 'main.example.com',
    sans: ['main.example.com'],
    notBefore: new Date(0),
    notAfter: new Date(DAY),
    serialNo: '01',
    issuerCN: 'ca',
    pem: '',
    authorized: false,
  });
  const OLD = `${'11:'.repeat(19)}11`;
  const NEW = `${'22:'.repeat(19)}22`;
  const at = { host: '127.0.0.1', port: 443, servername: 'main.example.com' };

  /** A probe answering from a script: a fingerprint, or an error kind. */
  function scripted(...answers: (string | TlsProbeError)[]) {
    const calls: TlsProbeRequest[] = [];
    const probe = async (req: TlsProbeRequest) => {
      calls.push(req);
      const a = answers[Math.min(calls.length, answers.length) - 1]!;
      if (a instanceof TlsProbeError) throw a;
      return leaf(a);
    };
    return { probe, calls };
  }
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  afterEach(() => {
    sleeps.length = 0;
  });

  it('waits out propagation: mismatches, then the expected leaf', async () => {
    const { probe, calls } = scripted(OLD, OLD, NEW);
    const got = await waitForServedCertificate({
      ...at,
      expectFingerprint: NEW,
      attempts: 5,
      delayMs: 1500,
      sleep,
      probe,
    });
    expect(got).toMatchObject({ status: 'matched', attempts: 3 });
    expect(sleeps).toEqual([1500, 1500]);
    expect(calls[0]).toMatchObject(at);
    expect(calls[0]).not.toHaveProperty('expectFingerprint');
  });

  it('accepts the fingerprint as SLB, CAS (upper case, no colons) or SHA-256 writes it', async () => {
    const { probe } = scripted(NEW);
    const cas = normalizeFingerprint(NEW).toUpperCase();
    const sha256 = 'AB'.repeat(32);
    expect((await waitForServedCertificate({ ...at, expectFingerprint: cas, probe })).status).toBe('matched');
    expect((await waitForServedCertificate({ ...at, expectFingerprint: sha256, probe })).status).toBe(
      'matched',
    );
  });

  it('reports a persistent mismatch with the leaf last served, after exactly `attempts` handshakes', async () => {
    const { probe, calls } = scripted(OLD);
    const got = await waitForServedCertificate({ ...at, expectFingerprint: NEW, attempts: 4, sleep, probe });
    expect(got.status).toBe('mismatch');
    expect(got.status === 'mismatch' && got.served.fingerprintSha1).toBe(OLD);
    expect(calls).toHaveLength(4);
    expect(sleeps).toEqual([2000, 2000, 2000]);
  });

  it('retries a refused connection, then matches', async () => {
    const { probe } = scripted(new TlsProbeError('refused', at, 'x', { code: 'ECONNREFUSED' }), NEW);
    const got = await waitForServedCertificate({ ...at, expectFingerprint: NEW, sleep, probe });
    expect(got).toMatchObject({ status: 'matched', attempts: 2 });
  });

  it('stops at once on a handshake failure, and reports the last retryable failure when attempts run out', async () => {
    const handshake = scripted(new TlsProbeError('handshake', at, 'x'));
    const timeouts = scripted(new TlsProbeError('timeout', at, 'x'));
    const a = await waitForServedCertificate({
      ...at,
      expectFingerprint: NEW,
      sleep,
      probe: handshake.probe,
    });
    const b = await waitForServedCertificate({
      ...at,
      expectFingerprint: NEW,
      attempts: 3,
      sleep,
      probe: timeouts.probe,
    });
    expect(a).toMatchObject({ status: 'failed', attempts: 1 });
    expect(a.status === 'failed' && a.error.reason).toBe('handshake');
    expect(b).toMatchObject({ status: 'failed', attempts: 3 });
    expect(b.status === 'failed' && b.error.reason).toBe('timeout');
  });

  it('wraps a foreign error from the probe by its code', async () => {
    const probe = async () => {
      throw Object.assign(new Error('boom'), { code: 'ECONNRESET' });
    };
    const got = await waitForServedCertificate({ ...at, expectFingerprint: NEW, attempts: 1, probe });
    expect(got.status === 'failed' && got.error).toMatchObject({ reason: 'reset' });
  });

  it('really probes when no probe is injected', async () => {
    const port = await tlsServer();
    const got = await waitForServedCertificate({
      host: '127.0.0.1',
      port,
      servername: 'other.example.com',
      expectFingerprint: parseCertificate(other.certPem).fingerprint,
      attempts: 1,
    });
    expect(got.status).toBe('matched');
  });

  it.each([
    [{ expectFingerprint: 'abc' }, 'waitForServedCertificate.expectFingerprint'],
    [{ expectFingerprint: NEW, attempts: 0 }, 'waitForServedCertificate.attempts'],
    [{ expectFingerprint: NEW, attempts: 1.5 }, 'waitForServedCertificate.attempts'],
    [{ expectFingerprint: NEW, delayMs: -1 }, 'waitForServedCertificate.delayMs'],
    [{ expectFingerprint: NEW, port: 70000 }, 'waitForServedCertificate.port'],
  ])('refuses %j naming the field', async (req, field) => {
    await expect(waitForServedCertificate({ ...at, ...req })).rejects.toThrow(field);
  });
});
