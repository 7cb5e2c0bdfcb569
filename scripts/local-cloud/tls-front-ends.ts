// The local cloud's front ends: one loopback port per HTTP or HTTPS listener. HTTPS ones serve the
// certificate currently bound to the listener and, by SNI, its extension domains' certificates, so
// "verify the served certificate" is a real handshake against what the emulator's state says. Behind
// the handshake (and on HTTP ones) requests go where CLB would send them (front-end-proxy.ts).
//
// - Served: HTTP and HTTPS listeners whose status is `running` on `active` load balancers. A stopped
//   listener or an inactive/locked load balancer accepts no connections on the real CLB either.
// - Address: the load balancer's `Address` in API answers is always 127.0.0.1 (the front ends bind it);
//   the port is NOT the `ListenerPort` (443 would need privileges and clash between LBs). It is picked
//   by the OS and found through `LocalCloud.frontEnds()` or `GET /_emulator/front-ends`; it stays the
//   same while the listener exists and runs (certificates are swapped in place), and a listener that
//   is stopped and started again gets a new one.
// - SNI: an exact extension domain wins; `*.example.com` matches exactly one label (`a.example.com`,
//   not `example.com` nor `a.b.example.com`); anything else gets the listener's default certificate.
// - Fault `staleFrontEnds`: a chosen front end keeps serving what it served when the fault was set
//   (a failed propagation), until the fault is cleared. It still closes when its listener goes away.
// - A certificate whose PEM or key cannot be loaded is not served (state files may be hand-edited):
//   the listener gets no front end, the extension domain falls back to the default certificate.
// - Requests are handed to the `handle` function given to the constructor (the server's proxy).

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CloudState, ServerCertificateRecord } from './state';

export const FRONT_END_HOST = '127.0.0.1';

export interface FrontEnd {
  loadBalancerId: string;
  listenerPort: number;
  protocol: 'http' | 'https';
  /** always 127.0.0.1 */
  host: string;
  /** the loopback port serving this listener (not the ListenerPort) */
  port: number;
  /** HTTPS: the default certificate actually served; differs from the bound one while stale */
  servedCertificateId?: string;
  /** HTTPS: extension domain (lower case, as configured, wildcards included) -> certificate served */
  sni?: Record<string, string>;
  /** HTTPS: held on its previous certificates by the `staleFrontEnds` fault */
  stale?: boolean;
}

/** Answers a request that reached a listener's front end. */
export type FrontEndHandler = (
  listener: { loadBalancerId: string; listenerPort: number; protocol: 'http' | 'https' },
  req: IncomingMessage,
  res: ServerResponse,
) => void;

/** Which front ends keep serving their previous certificates (fault injection). */
export type StaleSelector = (loadBalancerId: string, listenerPort: number) => boolean;

/** What a front end should serve according to the state. */
export interface DesiredFrontEnd {
  loadBalancerId: string;
  listenerPort: number;
  protocol: 'http' | 'https';
  /** the listener's IdleTimeout (s): how long an idle client connection is kept */
  idleTimeoutS: number;
  /** HTTPS only */
  certificate?: ServerCertificateRecord;
  /** lower-case domain -> certificate */
  sni: Map<string, ServerCertificateRecord>;
}

const keyOf = (loadBalancerId: string, listenerPort: number) => `${loadBalancerId}:${listenerPort}`;

/** The front ends the state asks for, keyed `<loadBalancerId>:<listenerPort>`. Pure. */
export function desiredFrontEnds(state: CloudState): Map<string, DesiredFrontEnd> {
  const certificates = new Map<string, ServerCertificateRecord>();
  for (const c of state.serverCertificates) certificates.set(`${c.regionId}/${c.serverCertificateId}`, c);
  const active = new Map(
    state.loadBalancers
      .filter((lb) => lb.loadBalancerStatus === 'active')
      .map((lb) => [lb.loadBalancerId, lb]),
  );
  const out = new Map<string, DesiredFrontEnd>();
  for (const l of state.listeners) {
    const lb = active.get(l.loadBalancerId);
    if (!lb || l.status !== 'running') continue;
    if (l.listenerProtocol === 'http') {
      out.set(keyOf(l.loadBalancerId, l.listenerPort), {
        loadBalancerId: l.loadBalancerId,
        listenerPort: l.listenerPort,
        protocol: 'http',
        idleTimeoutS: idleTimeoutOf(l),
        sni: new Map(),
      });
      continue;
    }
    if (l.listenerProtocol !== 'https' || !l.serverCertificateId) continue;
    const certificate = certificates.get(`${lb.regionId}/${l.serverCertificateId}`);
    if (!certificate) continue;
    out.set(keyOf(l.loadBalancerId, l.listenerPort), {
      loadBalancerId: l.loadBalancerId,
      listenerPort: l.listenerPort,
      protocol: 'https',
      idleTimeoutS: idleTimeoutOf(l),
      certificate,
      sni: new Map(),
    });
  }
  for (const d of state.domainExtensions) {
    const target = out.get(keyOf(d.loadBalancerId, d.listenerPort));
    const lb = active.get(d.loadBalancerId);
    const certificate = lb && certificates.get(`${lb.regionId}/${d.serverCertificateId}`);
    if (target?.protocol === 'https' && certificate) target.sni.set(normalizeDomain(d.domain), certificate);
  }
  return out;
}

/** CLB's IdleTimeout: 1-60 s, 15 by default. */
const idleTimeoutOf = (l: { extra: Record<string, string | number> }) => Number(l.extra.IdleTimeout ?? 15);

function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * The extension domain that answers an SNI server name: the exact domain, else the wildcard one label
 * up (`*.example.com` for `a.example.com`; a wildcard never covers two labels nor the bare domain).
 */
export function matchExtensionDomain(
  domains: { has(domain: string): boolean },
  servername: string,
): string | undefined {
  const name = normalizeDomain(servername);
  if (domains.has(name)) return name;
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const wildcard = `*${name.slice(dot)}`;
  return domains.has(wildcard) ? wildcard : undefined;
}

interface Served {
  certificateId: string;
  /** `<serverCertificateId>|<fingerprint>`: ids are stable, but a reset may bring another scenario */
  cacheKey: string;
  context: SecureContext;
  certPem: string;
  keyPem: string;
}

interface Entry {
  loadBalancerId: string;
  listenerPort: number;
  protocol: 'http' | 'https';
  server: Server | ReturnType<typeof createHttpServer>;
  sockets: Set<Socket>;
  /** 0 until listening */
  port: number;
  /** true once listening, false if it could not listen */
  ready: Promise<boolean>;
  /** HTTPS only */
  served: Served | undefined;
  sni: Map<string, Served>;
  stale: boolean;
}

export class TlsFrontEnds {
  private readonly entries = new Map<string, Entry>();
  /** secure contexts (null: unloadable) by cache key, reused between reconciles */
  private contexts = new Map<string, Served | null>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly handle: FrontEndHandler,
    private readonly host: string = FRONT_END_HOST,
  ) {}

  /**
   * Brings the front ends in line with the state. Certificate swaps happen synchronously (so a write
   * call's effect is visible as soon as its answer is); the promise resolves once new ports listen and
   * removed ones are closed. Never rejects: a front end that fails to open is retried next time.
   */
  reconcile(state: CloudState, isStale: StaleSelector = () => false): Promise<void> {
    if (this.closed) return Promise.resolve();
    const desired = desiredFrontEnds(state);
    const previous = this.contexts;
    this.contexts = new Map();
    const work: Promise<unknown>[] = [];
    const remove = (key: string, entry: Entry) => {
      this.entries.delete(key);
      work.push(this.shut(entry));
    };
    for (const [key, entry] of this.entries) if (!desired.has(key)) remove(key, entry);
    for (const [key, d] of desired) {
      const existing = this.entries.get(key);
      if (existing && existing.protocol !== d.protocol) remove(key, existing);
      else if (existing && d.protocol === 'http') continue;
      if (d.protocol === 'http' || !d.certificate) {
        if (d.protocol === 'http') this.add(key, this.open(d, undefined, new Map()), work);
        continue;
      }
      const stale = isStale(d.loadBalancerId, d.listenerPort);
      const served = this.context(d.certificate, previous);
      if (existing && existing.protocol === d.protocol) {
        existing.stale = stale;
        if (stale) continue;
        if (!served) remove(key, existing);
        else this.apply(existing, served, this.sniContexts(d, previous));
        continue;
      }
      if (!served) continue;
      const entry = this.open(d, served, this.sniContexts(d, previous));
      entry.stale = stale;
      this.add(key, entry, work);
    }
    // Contexts held by stale front ends stay cached, so clearing the fault does not rebuild them.
    for (const e of this.entries.values())
      for (const s of [e.served, ...e.sni.values()]) if (s) this.contexts.set(s.cacheKey, s);
    return this.track(Promise.all(work));
  }

  private add(key: string, entry: Entry, work: Promise<unknown>[]): void {
    this.entries.set(key, entry);
    work.push(
      entry.ready.then((ok) => {
        if (!ok && this.entries.get(key) === entry) this.entries.delete(key);
      }),
    );
  }

  /** Resolves once every front end being opened or closed has settled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** The listening front ends, sorted by load balancer and listener port. */
  list(): FrontEnd[] {
    return [...this.entries.values()]
      .filter((e) => e.port > 0)
      .map((e) => ({
        loadBalancerId: e.loadBalancerId,
        listenerPort: e.listenerPort,
        protocol: e.protocol,
        host: this.host,
        port: e.port,
        ...(e.served
          ? {
              servedCertificateId: e.served.certificateId,
              sni: Object.fromEntries([...e.sni].map(([domain, s]) => [domain, s.certificateId])),
              stale: e.stale,
            }
          : {}),
      }))
      .sort((a, b) =>
        a.loadBalancerId === b.loadBalancerId
          ? a.listenerPort - b.listenerPort
          : a.loadBalancerId.localeCompare(b.loadBalancerId),
      );
  }

  /** Closes every front end; later reconciles do nothing. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.shut(e)));
    await this.settled();
  }

  private track(p: Promise<unknown>): Promise<void> {
    const done = p.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
    return done;
  }

  private context(c: ServerCertificateRecord, previous: Map<string, Served | null>): Served | undefined {
    const cacheKey = `${c.serverCertificateId}|${c.fingerprint}`;
    let served = this.contexts.get(cacheKey) ?? previous.get(cacheKey);
    if (served === undefined) {
      try {
        served = {
          certificateId: c.serverCertificateId,
          cacheKey,
          context: createSecureContext({ cert: c.certificatePem, key: c.privateKeyPem }),
          certPem: c.certificatePem,
          keyPem: c.privateKeyPem,
        };
      } catch {
        served = null;
      }
    }
    this.contexts.set(cacheKey, served);
    return served ?? undefined;
  }

  private sniContexts(d: DesiredFrontEnd, previous: Map<string, Served | null>): Map<string, Served> {
    const out = new Map<string, Served>();
    for (const [domain, c] of d.sni) {
      const served = this.context(c, previous);
      if (served) out.set(domain, served);
    }
    return out;
  }

  private apply(entry: Entry, served: Served, sni: Map<string, Served>): void {
    if (served !== entry.served && 'setSecureContext' in entry.server) {
      entry.served = served;
      // The server's own context answers clients that send no SNI; SNICallback reads entry.served.
      entry.server.setSecureContext({ cert: served.certPem, key: served.keyPem });
    }
    entry.sni = sni;
  }

  private open(d: DesiredFrontEnd, served: Served | undefined, sni: Map<string, Served>): Entry {
    const ref = { loadBalancerId: d.loadBalancerId, listenerPort: d.listenerPort, protocol: d.protocol };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.handle(ref, req, res);
    const server = served
      ? createServer(
          {
            cert: served.certPem,
            key: served.keyPem,
            SNICallback: (servername, cb) => {
              const domain = matchExtensionDomain(entry.sni, servername);
              const match = domain === undefined ? undefined : entry.sni.get(domain);
              cb(null, (match ?? entry.served ?? served).context);
            },
          },
          onRequest,
        )
      : createHttpServer(onRequest);
    // Idle client connections close after the listener's IdleTimeout, as on CLB (Node's default is 5 s).
    server.keepAliveTimeout = d.idleTimeoutS * 1000;
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const entry: Entry = {
      loadBalancerId: d.loadBalancerId,
      listenerPort: d.listenerPort,
      protocol: d.protocol,
      server,
      sockets,
      port: 0,
      served,
      sni,
      stale: false,
      ready: new Promise<boolean>((resolve) => {
        const onError = () => resolve(false);
        server.once('error', onError);
        server.listen(0, this.host, () => {
          server.off('error', onError);
          // A late server error must not crash the emulator.
          server.on('error', () => undefined);
          entry.port = (server.address() as AddressInfo).port;
          resolve(true);
        });
      }),
    };
    return entry;
  }

  /** Stops accepting and drops open connections, as a stopped listener does. */
  private async shut(entry: Entry): Promise<void> {
    if (!(await entry.ready)) return;
    await new Promise<void>((resolve) => {
      entry.server.close(() => resolve());
      entry.server.closeAllConnections();
      for (const s of entry.sockets) s.destroy();
    });
  }
}
