// A real ACME server for local runs and tests: Pebble (Let's Encrypt's test CA, Debian package `pebble`),
// started on free loopback ports with `-dnsserver` pointed at the local cloud's authoritative DNS server,
// so DNS-01 challenges are validated against the TXT records the local Alidns API holds.
//
// Its HTTPS front door presents a certificate from a throw-away local CA (`tlsCaPem`: what a client trusts
// to reach the directory); the certificates it issues chain to Pebble's own root, fetched from its
// management port (`issuerRootPem`), which local TLS checks trust in local runs only.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from '../pki';

export const PEBBLE_BINARY = '/usr/bin/pebble';

export interface Pebble {
  /** https://127.0.0.1:<port>/dir */
  readonly directoryUrl: string;
  /** trust this to reach the directory */
  readonly tlsCaPem: string;
  /** the root the issued certificates chain to */
  issuerRootPem(): Promise<string>;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** host:port of the DNS server Pebble resolves challenges with */
  dnsServer: string;
  /** Pebble writes a line per request; pass a sink to see them */
  log?: (line: string) => void;
  binary?: string;
}

/** A free loopback port (bound, read, released): Pebble takes ports only from its config file. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: new Agent({ ca }), timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export function pebbleInstalled(binary = PEBBLE_BINARY): boolean {
  return existsSync(binary);
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const binary = options.binary ?? PEBBLE_BINARY;
  if (!pebbleInstalled(binary))
    throw new Error(
      `pebble: ${binary} not found; install the Debian package (apt-get install pebble) to run the local ACME server`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'slbap-pebble-'));
  const ca = await createTestCa({ commonName: 'slb-autopilot local ACME front door', now: new Date() });
  const tls = await ca.issue({
    commonName: '127.0.0.1',
    sans: ['127.0.0.1', 'localhost'],
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 7 * 86_400_000),
  });
  writeFileSync(join(dir, 'cert.pem'), tls.chainPem);
  writeFileSync(join(dir, 'key.pem'), tls.keyPem, { mode: 0o600 });
  const [listen, management, http, tlsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        // Challenge ports for HTTP-01/TLS-ALPN-01, which we never use; free ones so nothing collides.
        httpPort: http,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child: ChildProcess = spawn(
    binary,
    ['-config', join(dir, 'pebble.json'), '-dnsserver', options.dnsServer],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // No random sleeps before validation, no reused authorizations, no bad-nonce rejections: each
      // issuance runs every step, quickly and the same way every time.
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0', PEBBLE_WFE_NONCEREJECT: '0' },
    },
  );
  const lines: string[] = [];
  const onData = (b: Buffer) => {
    for (const line of b.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(line);
      if (lines.length > 50) lines.shift();
      options.log?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const directoryUrl = `https://127.0.0.1:${listen}/dir`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`pebble exited during start-up: ${lines.slice(-5).join(' | ')}`);
    }
    try {
      if ((await httpsGet(directoryUrl, ca.certPem)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pebble did not answer at ${directoryUrl} within 15 s: ${lines.slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    directoryUrl,
    tlsCaPem: ca.certPem,
    issuerRootPem: async () => {
      const res = await httpsGet(`https://127.0.0.1:${management}/roots/0`, ca.certPem);
      if (res.status !== 200) throw new Error(`pebble: roots/0 answered ${res.status}`);
      return res.body;
    },
    stop,
  };
}
