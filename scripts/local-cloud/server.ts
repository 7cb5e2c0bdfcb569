// The local cloud: one loopback HTTP port serving SLB 2014-05-15 and CAS 2020-04-07 RPC to the
// unmodified official clients (routed by API version), plus an admin API under /_emulator/.
// Each call: route -> verify signature, nonce and timestamp -> injected faults -> handler on a
// snapshot of the state (restored if the handler fails, so a failed call changes nothing) -> persist
// -> answer (or, under the lost-answer fault, reset the connection instead). Every call whose action
// is known is recorded: when, which AccessKeyId signed it, and how it ended.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminRequestProblem } from '../admin-guard';
import { CAS_VERSION, casActions } from './cas';
import {
  assertOfficialRequirements,
  checkOfficialRequest,
  checkOfficialResponse,
  type FidelityWarning,
  fidelityWarnings,
  type WireExchange,
} from './conformance/fidelity';
import type { RequestFinding } from './conformance/request';
import { ALIDNS_VERSION, alidnsActions } from './dns';
import { type DnsFaults, type LocalDnsServer, startDnsServer } from './dns/server';
import { ApiError } from './errors';
import { type FaultConfig, FaultInjector, parseFaultConfig } from './faults';
import { FrontEndProxy } from './front-end-proxy';
import { type ActionContext, type ActionTable, DEFAULT_LIMITS, type EmulatorLimits } from './handler';
import { HealthChecker } from './health-checker';
import { Params } from './params';
import { loadScenario, SCENARIOS } from './scenarios';
import {
  checkTimestamp,
  type KeyPair,
  NonceRegistry,
  SIGNATURE_QUERY_KEYS,
  verifySignature,
} from './signature';
import { SLB_VERSION, slbActions } from './slb';
import type { CloudState } from './state';
import { loadStateFile, redactState, saveStateFile } from './store';
import { type FrontEnd, TlsFrontEnds } from './tls-front-ends';

export const DEFAULT_ACCESS_KEY_ID = 'LTAI5tLocalCloudDefault';
export const DEFAULT_ACCESS_KEY_SECRET = 'LocalCloudSecret-NotForProduction';
export const DEFAULT_REGION = 'cn-hangzhou';

export interface ProductDef {
  version: string;
  /** HostId in error bodies */
  hostId: string;
  /** `product=` in the Recommend link */
  recommendProduct: string;
  actions: ActionTable;
}

export const PRODUCTS: Record<string, ProductDef> = {
  slb: { version: SLB_VERSION, hostId: 'slb.aliyuncs.com', recommendProduct: 'Slb', actions: slbActions },
  cas: { version: CAS_VERSION, hostId: 'cas.aliyuncs.com', recommendProduct: 'cas', actions: casActions },
  alidns: {
    version: ALIDNS_VERSION,
    hostId: 'alidns.aliyuncs.com',
    recommendProduct: 'Alidns',
    actions: alidnsActions,
  },
};

export interface LocalCloudOptions {
  /** 0 (default) picks a free port */
  port?: number;
  /** a scenario name ('mall', 'empty'), a state file, or a state (default 'mall') */
  scenario?: string | CloudState;
  /** persist the state here (loaded at start if the file exists) */
  statePath?: string;
  /** accessKeyId -> key pair (default: the documented local pair) */
  keys?: Record<string, KeyPair>;
  now?: () => Date;
  limits?: Partial<EmulatorLimits>;
  /** replaces the product table (tests of the framework itself) */
  products?: Record<string, ProductDef>;
  /** serve a loopback front end per running HTTP(S) listener, forwarding traffic (default true; see tls-front-ends.ts) */
  tlsFrontEnds?: boolean;
  /**
   * real health checks against the backends (health-checker.ts): 'auto' on each listener's interval,
   * 'manual' only through tickHealth(), 'off' (default): health is what POST /_emulator/health sets.
   * Forced health (setHealth, POST /_emulator/health) wins over the checks in every mode.
   */
  healthChecks?: 'off' | 'manual' | 'auto';
  /** serve the zones of the Alidns API on a loopback DNS server (default true; see dns/server.ts) */
  dnsServer?: boolean;
  /** keep every RPC exchange as received and answered, for wireLog() (conformance tests) */
  recordWire?: boolean;
}

export interface CallCounts {
  calls: Record<string, number>;
  errors: Record<string, number>;
  total: number;
  /** where a request or an answer departed from the official API description (conformance/fidelity.ts) */
  warnings: FidelityWarning[];
}

/** Enough to see what went wrong without growing without bound in long runs. */
const MAX_WARNINGS = 1000;

/** One API call as the local cloud saw it (GET /_emulator/calls `records`). */
export interface CallRecord {
  /** 1-based, in order of arrival; `?since=<seq>` lists the later ones */
  seq: number;
  /** the emulator's clock when the call arrived, ISO */
  at: string;
  product: string;
  action: string;
  write: boolean;
  /** the AccessKeyId that signed the call */
  caller: string;
  /** the `x-slbap-caller` header, when the client sent one (a free-form hint, not authenticated) */
  callerHint?: string;
  /** the HTTP status answered; 0 when the answer was lost */
  status: number;
  /** the error code answered */
  code?: string;
  /** the call ran (a write: committed) but the connection was reset instead of answering */
  lostAnswer?: true;
}

/** Records kept; older ones are dropped first (a long `npm start` must not grow without bound). */
const MAX_CALL_RECORDS = 50_000;

export interface LocalCloud {
  readonly port: number;
  /** host:port, as the SDKs' `endpoint` wants it */
  readonly endpoint: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly regionId: string;
  /** a deep copy of the current state, unredacted (in-process access for tests) */
  state(): CloudState;
  calls(): CallCounts;
  /** the fidelity warnings so far, cleared by this call (tests assert none are left) */
  takeWarnings(): FidelityWarning[];
  /** every RPC exchange since start or reset (only with recordWire) */
  wireLog(): WireExchange[];
  /** the calls recorded after `since` (a seq), oldest first */
  callRecords(since?: number): CallRecord[];
  setFaults(config: FaultConfig): void;
  setHealth(health: CloudState['backendHealth']): void;
  /**
   * The front ends of the running HTTP and HTTPS listeners (also `GET /_emulator/front-ends`). The load
   * balancer's Address is 127.0.0.1 but the port is not the ListenerPort: connect to `host:port` here,
   * with the domain as SNI for HTTPS. Waits for front ends still opening.
   */
  frontEnds(): Promise<FrontEnd[]>;
  /** one round of health checks now, resolved when all answered (healthChecks 'manual' or 'auto'; no-op when 'off') */
  tickHealth(): Promise<void>;
  /**
   * Where a backend (`serverId:port`) really answers, e.g. a stand-in on another loopback port. Set
   * in-process, this is how the stack wires its stand-ins: a reset restores it. Changes made through
   * POST /_emulator/backend-addresses (a backend moved or killed by a demo or a chaos run) last until
   * the next reset.
   */
  setBackendAddress(backend: string, hostPort: string): void;
  backendAddresses(): Record<string, string>;
  /** the authoritative DNS server for the Alidns zones (also `GET /_emulator/dns`); undefined when off */
  dns(): { host: string; port: number } | undefined;
  setDnsFaults(faults: DnsFaults): void;
  /** back to the current scenario, counters and records zeroed, faults cleared, backend addresses restored */
  reset(): void;
  /**
   * Like reset(), to a named scenario (loaded once, then cached) or a given state, which becomes the
   * scenario later resets return to (also `POST /_emulator/reset` `{"scenario": "<name>"}`).
   */
  resetTo(scenario: string | CloudState): Promise<void>;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json;charset=utf-8';

function readBody(req: IncomingMessage, limit = 8 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ApiError('InvalidParameter', 'The request body is too large.'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const now = options.now ?? (() => new Date());
  const products = options.products ?? PRODUCTS;
  const limits: EmulatorLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const keys = new Map(
    Object.entries(options.keys ?? { [DEFAULT_ACCESS_KEY_ID]: { secret: DEFAULT_ACCESS_KEY_SECRET } }),
  );
  const scenario = options.scenario ?? 'mall';
  /** named scenarios already built: building the mall issues certificates, so it is done once */
  const scenarios = new Map<string, CloudState>();
  let initial: CloudState =
    typeof scenario === 'string' ? await loadScenario(scenario, now()) : structuredClone(scenario);
  if (typeof scenario === 'string') scenarios.set(scenario, initial);
  let state: CloudState = (options.statePath && loadStateFile(options.statePath)) || structuredClone(initial);
  if (options.statePath) saveStateFile(options.statePath, state);

  const nonces = new NonceRegistry();
  const faults = new FaultInjector();
  let counts: CallCounts = { calls: {}, errors: {}, total: 0, warnings: [] };
  let wire: WireExchange[] = [];
  let records: CallRecord[] = [];
  let recordSeq = 0;
  /** backend addresses set in-process (the stack's stand-ins): what a reset restores */
  const baselineAddresses = new Map<string, string>();
  const countError = (code: string) => {
    counts.errors[code] = (counts.errors[code] ?? 0) + 1;
  };
  /** health set through the admin API: wins over the checks */
  let forced: CloudState['backendHealth'] = {};
  const probes = new HealthChecker({
    mode: options.healthChecks ?? 'off',
    state: () => state,
    forced: () => forced,
  });
  const proxy = new FrontEndProxy({
    state: () => state,
    resolve: (s, b) => probes.trafficAddress(s, b),
  });
  const frontEnds = new TlsFrontEnds((listener, req, res) => proxy.handle(listener, req, res));
  probes.publish();
  if (options.healthChecks === 'auto') probes.start();
  const dns: LocalDnsServer | undefined =
    options.dnsServer === false ? undefined : await startDnsServer({ state: () => state, now });
  /** After every change of state or faults: certificate swaps are immediate, new ports awaited. */
  const syncFrontEnds = (): Promise<void> =>
    options.tlsFrontEnds === false
      ? Promise.resolve()
      : frontEnds.reconcile(state, (lb, port) => faults.frontEndIsStale(lb, port));

  async function handleRpc(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const version = headerValue(req, 'x-acs-version') ?? query.Version;
    const product = Object.values(products).find((p) => p.version === version);
    // What the official description says of this exchange, filled in as the call proceeds.
    let action: string | undefined;
    let params: Record<string, string> = {};
    let requestFindings: RequestFinding[] = [];
    const reply = (status: number, body: Record<string, unknown>, code?: string) => {
      const responseFindings = version && action ? checkOfficialResponse(version, action, status, body) : [];
      if (action) {
        const found = fidelityWarnings(action, status < 400, requestFindings, responseFindings);
        counts.warnings.push(...found.slice(0, Math.max(0, MAX_WARNINGS - counts.warnings.length)));
        if (options.recordWire && version)
          wire.push({
            version,
            action,
            params,
            httpStatus: status,
            code,
            // a copy as it went out: a body may share arrays with the state that later calls change
            body: JSON.parse(JSON.stringify(body)) as Record<string, unknown>,
            requestFindings,
            responseFindings,
          });
      }
      send(res, status, body);
    };

    let record: CallRecord | undefined;
    const fail = (err: ApiError, def: ProductDef | undefined) => {
      countError(err.code);
      if (record) Object.assign(record, { status: err.httpStatus, code: err.code });
      const recommend = `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=${def?.recommendProduct ?? 'Slb'}&requestId=${requestId}`;
      reply(
        err.httpStatus,
        {
          RequestId: requestId,
          HostId: def?.hostId ?? 'slb.aliyuncs.com',
          Code: err.code,
          Message: err.message,
          Recommend: recommend,
        },
        err.code,
      );
    };
    try {
      const body = await readBody(req);
      if (!version)
        throw new ApiError(
          'MissingParameter',
          'The input parameter "Version" that is mandatory for processing this request is not supplied.',
        );
      if (!product)
        throw new ApiError('InvalidVersion', `Specified parameter Version is not valid: ${version}.`, 400);
      const caller = verifySignature(
        { method: req.method ?? 'POST', query, headers: req.headers, body },
        keys,
      );
      const nowMs = now().getTime();
      checkTimestamp(caller.timestamp, nowMs);
      nonces.use(caller.accessKeyId, caller.nonce, nowMs);

      action = headerValue(req, 'x-acs-action') ?? query.Action;
      const def = action ? product.actions[action] : undefined;
      if (!action || !def) {
        throw new ApiError(
          'InvalidAction.NotFound',
          `Specified api is not found, please check your url and method.`,
          404,
        );
      }
      counts.calls[action] = (counts.calls[action] ?? 0) + 1;
      counts.total++;
      const hint = headerValue(req, 'x-slbap-caller');
      record = {
        seq: ++recordSeq,
        at: new Date(nowMs).toISOString(),
        product: Object.keys(products).find((k) => products[k] === product) ?? version,
        action,
        write: def.write,
        caller: caller.accessKeyId,
        ...(hint ? { callerHint: hint.slice(0, 128) } : {}),
        status: 0,
      };
      records.push(record);
      if (records.length > MAX_CALL_RECORDS) records = records.slice(-MAX_CALL_RECORDS / 2);
      if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
      faults.check(action, def.write, nowMs);

      // Parameters: the query (minus the signing ones) plus a form body, if the client sent one.
      params = { ...query };
      for (const k of SIGNATURE_QUERY_KEYS) delete params[k];
      if (body.length > 0 && (headerValue(req, 'content-type') ?? '').includes('x-www-form-urlencoded')) {
        for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = v;
      }
      requestFindings = checkOfficialRequest(product.version, action, params);
      assertOfficialRequirements(requestFindings);
      // Reads change nothing, so only writes need the snapshot to roll back to (it is the costly part).
      const snapshot = def.write ? structuredClone(state) : undefined;
      const ctx: ActionContext = {
        params: new Params(params),
        state,
        regionId: params.RegionId || DEFAULT_REGION,
        now: new Date(nowMs),
        limits,
        configuringMs: faults.configuringMs,
        newId: (prefix) =>
          `${prefix}${(state.seq++).toString(36).padStart(6, '0')}${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      };
      let result: Record<string, unknown>;
      try {
        result = def.handler(ctx);
      } catch (err) {
        if (snapshot) state = snapshot;
        throw err;
      }
      if (def.write && options.statePath) saveStateFile(options.statePath, state);
      if (def.write) await syncFrontEnds();
      if (faults.loseAnswer(action, def.write)) {
        // The change stands; the client only sees its connection reset.
        record.lostAnswer = true;
        res.destroy();
        return;
      }
      record.status = 200;
      reply(200, { RequestId: requestId, ...result });
    } catch (err) {
      if (err instanceof ApiError) fail(err, product);
      else
        fail(
          new ApiError('InternalError', 'The request processing has failed due to some unknown error.', 500),
          product,
        );
    }
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const route = `${req.method} ${path}`;
    try {
      const body = req.method === 'POST' ? (await readBody(req, 1024 * 1024)).toString('utf8') : '';
      const json = (): unknown => (body.trim() === '' ? {} : JSON.parse(body));
      switch (route) {
        case 'GET /_emulator/state':
          return send(res, 200, redactState(state));
        case 'GET /_emulator/calls': {
          const since = url.searchParams.get('since');
          if (since !== null && !/^\d{1,15}$/.test(since))
            throw new Error('calls.since: must be a non-negative integer (a record seq)');
          return send(res, 200, {
            ...counts,
            records: cloud.callRecords(since === null ? 0 : Number(since)),
          });
        }
        case 'POST /_emulator/faults':
          faults.configure(parseFaultConfig(json()));
          await syncFrontEnds();
          return send(res, 200, { ok: true });
        case 'POST /_emulator/health':
          cloud.setHealth(parseHealth(json()));
          return send(res, 200, { ok: true });
        case 'GET /_emulator/backend-addresses':
          return send(res, 200, probes.addressMap());
        case 'POST /_emulator/backend-addresses': {
          const body = json();
          if (body === null || typeof body !== 'object' || Array.isArray(body))
            throw new Error('backend-addresses: body must be a JSON object');
          for (const [k, v] of Object.entries(body)) probes.setAddress(k, v === null ? null : String(v));
          return send(res, 200, { ok: true });
        }
        case 'GET /_emulator/health-checks':
          return send(res, 200, { mode: probes.mode, checks: probes.describe() });
        case 'POST /_emulator/health-checks':
          await probes.tick();
          return send(res, 200, state.backendHealth);
        case 'GET /_emulator/dns':
          return send(res, 200, cloud.dns() ?? {});
        case 'POST /_emulator/dns-faults':
          cloud.setDnsFaults(parseDnsFaults(json()));
          return send(res, 200, { ok: true });
        case 'GET /_emulator/front-ends':
          return send(res, 200, await cloud.frontEnds());
        case 'POST /_emulator/reset': {
          const body = json();
          if (body === null || typeof body !== 'object' || Array.isArray(body))
            throw new Error('reset: body must be a JSON object');
          const { scenario: name, ...rest } = body as Record<string, unknown>;
          for (const k of Object.keys(rest)) throw new Error(`reset.${k}: unknown field`);
          if (name === undefined) cloud.reset();
          else if (typeof name !== 'string' || !(SCENARIOS as readonly string[]).includes(name))
            throw new Error(`reset.scenario: must be one of ${SCENARIOS.join(', ')}`);
          else await cloud.resetTo(name);
          await frontEnds.settled();
          return send(res, 200, { ok: true });
        }
        default:
          return send(res, 404, { error: `no admin route ${route}` });
      }
    } catch (err) {
      send(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/_emulator/')) {
      const refused = adminRequestProblem(req);
      if (refused) send(res, refused.status, { error: refused.message });
      else void handleAdmin(req, res, url);
    } else if (url.pathname === '/' && (req.method === 'POST' || req.method === 'GET')) {
      void handleRpc(req, res, url);
    } else {
      send(res, 404, {
        Code: 'InvalidAction.NotFound',
        Message: 'Specified api is not found, please check your url and method.',
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await syncFrontEnds();

  const cloud: LocalCloud = {
    port,
    endpoint: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    regionId: DEFAULT_REGION,
    state: () => structuredClone(state),
    calls: () => structuredClone(counts),
    takeWarnings: () => counts.warnings.splice(0),
    wireLog: () => structuredClone(wire),
    callRecords: (since = 0) => structuredClone(records.filter((r) => r.seq > since)),
    setFaults: (config) => {
      faults.configure(parseFaultConfig(config));
      void syncFrontEnds();
    },
    setHealth: (health) => {
      forced = { ...forced, ...health };
      state.backendHealth = { ...state.backendHealth, ...health };
      probes.publish();
      if (options.statePath) saveStateFile(options.statePath, state);
    },
    tickHealth: () => probes.tick(),
    dns: () => (dns ? { host: dns.host, port: dns.port } : undefined),
    setDnsFaults: (f) => dns?.setFaults(f),
    setBackendAddress: (backend, hostPort) => {
      probes.setAddress(backend, hostPort);
      baselineAddresses.set(backend, hostPort);
    },
    backendAddresses: () => probes.addressMap(),
    reset: () => {
      forced = {};
      state = structuredClone(initial);
      probes.reset();
      counts = { calls: {}, errors: {}, total: 0, warnings: [] };
      wire = [];
      records = [];
      recordSeq = 0;
      for (const k of Object.keys(probes.addressMap()))
        if (!baselineAddresses.has(k)) probes.setAddress(k, null);
      for (const [k, v] of baselineAddresses) probes.setAddress(k, v);
      faults.configure({});
      dns?.setFaults({});
      nonces.clear();
      if (options.statePath) saveStateFile(options.statePath, state);
      void syncFrontEnds();
    },
    resetTo: async (to) => {
      if (typeof to === 'string') {
        let loaded = scenarios.get(to);
        if (!loaded) {
          loaded = await loadScenario(to, now());
          scenarios.set(to, loaded);
        }
        initial = loaded;
      } else initial = structuredClone(to);
      cloud.reset();
      await frontEnds.settled();
    },
    frontEnds: async () => {
      await frontEnds.settled();
      return frontEnds.list();
    },
    close: async () => {
      await probes.stop();
      await frontEnds.close();
      proxy.close();
      await dns?.close();
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
  return cloud;
}

function parseDnsFaults(input: unknown): DnsFaults {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new Error('dns-faults: body must be a JSON object');
  const { propagationDelayMs, txtOverride, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`dns-faults.${unknown[0]}: unknown (propagationDelayMs, txtOverride)`);
  if (
    propagationDelayMs !== undefined &&
    !(Number.isInteger(propagationDelayMs) && Number(propagationDelayMs) >= 0)
  )
    throw new Error('dns-faults.propagationDelayMs: must be a non-negative integer');
  if (txtOverride !== undefined && typeof txtOverride !== 'string')
    throw new Error('dns-faults.txtOverride: must be a string');
  return {
    ...(propagationDelayMs !== undefined ? { propagationDelayMs: Number(propagationDelayMs) } : {}),
    ...(txtOverride !== undefined ? { txtOverride } : {}),
  };
}

const HEALTH_VALUES = ['normal', 'abnormal', 'unavailable'] as const;

function parseHealth(input: unknown): CloudState['backendHealth'] {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new Error('health: body must be a JSON object');
  const out: CloudState['backendHealth'] = {};
  for (const [key, v] of Object.entries(input)) {
    if (!/^[^:]+:\d{1,5}$/.test(key)) throw new Error(`health.${key}: keys are "<serverId>:<port>"`);
    if (!(HEALTH_VALUES as readonly unknown[]).includes(v))
      throw new Error(`health.${key}: must be one of ${HEALTH_VALUES.join(', ')}`);
    out[key] = v as (typeof HEALTH_VALUES)[number];
  }
  return out;
}
