// What every function builds per invocation from its environment and FC context: the spec (parsed once
// per instance), the cloud (local or real), where listeners and backends really answer (the local cloud
// maps them to loopback ports), and the notifier the spec's `notify` names.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAcmeIssuer } from '../cloud/acme';
import { Secret } from '../cloud/cas';
import { authoritativeLookup, localCloudLookup } from '../cloud/dns-lookup';
import type { Cloud } from '../cloud/index';
import { type ListenerAddressResolver, listenerAddressResolver } from '../cloud/listener-address';
import { createNotifier, type Notifier, notifierConfigFromEnv } from '../cloud/notify';
import { probeAll } from '../cloud/probe';
import { waitForServedCertificate } from '../cloud/tls-probe';
import type { OwnershipMarker } from '../domain/ownership';
import type { Spec } from '../domain/spec';
import type { RenewalDeps, RenewalOptions } from '../workflows/cert-renewal';
import { type BackendAddressResolver, directBackendAddress, type FailoverDeps } from '../workflows/failover';
import type { LeaseOptions } from '../workflows/lease';
import { cloudFromContext } from './cloud-from-context';
import { type Config, loadConfig } from './config';
import { leaseFromConfig, ownershipFromConfig } from './deployment';
import type { FcContext } from './fc-events';
import { logLine } from './log';
import { loadSpec } from './spec-source';

export interface FunctionEnv {
  spec: Spec;
  cloud: Cloud;
  listenerAddress: ListenerAddressResolver;
  backendAddress: BackendAddressResolver;
  notifier: Notifier;
  /** notify settings the environment could not satisfy (named variables unset) */
  notifyProblems: string[];
  /** the parsed configuration (shared/runtime/config.ts) */
  config: Config;
  /** this deployment's marker on what it creates (from the configuration, never the spec) */
  ownership: OwnershipMarker;
  /** the per-load-balancer writer lease */
  lease: LeaseOptions;
  env: Record<string, string | undefined>;
}

const readFile = (path: string) => readFileSync(path, 'utf8');
const here = typeof __dirname === 'string' ? __dirname : process.cwd();

/** The local cloud's map of backends to the loopback addresses where their stand-ins answer. */
export function localBackendAddress(baseUrl: string): BackendAddressResolver {
  return async (b) => {
    try {
      const res = await fetch(new URL('/_emulator/backend-addresses', baseUrl), {
        signal: AbortSignal.timeout(5000),
      });
      if (res.ok) {
        const map = (await res.json()) as Record<string, string>;
        const hit = map[`${b.serverId}:${b.port}`];
        const m = hit?.match(/^(.+):(\d+)$/);
        if (m?.[1] && m[2]) return { host: m[1], port: Number(m[2]) };
      }
    } catch {
      // no map: the backend answers where its address says
    }
    return directBackendAddress(b);
  };
}

export function functionEnv(
  context: Pick<FcContext, 'credentials'>,
  env: Record<string, string | undefined> = process.env,
): FunctionEnv {
  // First, before any cloud call: a bad variable stops the function here, named.
  const config = loadConfig(env);
  const spec = loadSpec({ env, readFile, bundledPath: join(here, 'spec.yaml') });
  const notify = notifierConfigFromEnv(spec.notify, env);
  const local = config.SLB_AUTOPILOT_LOCAL_CLOUD;
  return {
    spec,
    cloud: cloudFromContext(context, env),
    listenerAddress: listenerAddressResolver(env),
    backendAddress: local ? localBackendAddress(local) : directBackendAddress,
    notifier: createNotifier(notify.config),
    notifyProblems: notify.problems,
    config,
    ownership: ownershipFromConfig(config),
    lease: leaseFromConfig(config),
    env,
  };
}

/** What the renewal workflow needs from a function's environment, and how hard it verifies. */
export function renewalRun(fx: FunctionEnv, dryRun: boolean): [RenewalDeps, RenewalOptions] {
  return [
    {
      slb: fx.cloud.slb,
      cas: fx.cloud.cas,
      now: () => new Date(),
      env: fx.env,
      readFile,
      listenerAddress: fx.listenerAddress,
      verify: (req) => waitForServedCertificate(req),
      ownership: fx.ownership,
      lease: fx.lease,
      acme: acmeIssuer(fx),
    },
    {
      dryRun,
      verifyAttempts: fx.config.SLB_AUTOPILOT_VERIFY_ATTEMPTS,
      verifyDelayMs: fx.config.SLB_AUTOPILOT_VERIFY_DELAY_MS,
    },
  ];
}

/**
 * ACME issuance for `acme` sources: the account key from the configuration (a secret variable), the
 * challenge records through Alibaba Cloud DNS, propagation asked of the zone's authoritative servers (the
 * local cloud's DNS server in local runs, where the local CA's front door may be trusted from a file).
 */
export function acmeIssuer(fx: FunctionEnv): RenewalDeps['acme'] {
  const local = fx.config.SLB_AUTOPILOT_LOCAL_CLOUD;
  const key = fx.config.SLB_AUTOPILOT_ACME_ACCOUNT_KEY;
  const trustFile = local ? fx.config.SLB_AUTOPILOT_ACME_CA_TRUST_FILE : undefined;
  return createAcmeIssuer(
    {
      dns: fx.cloud.dns,
      lookup: local ? localCloudLookup(local) : authoritativeLookup(),
      now: () => new Date(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...(trustFile ? { caTrustPem: readFile(trustFile) } : {}),
      log: (event) => console.log(logLine('info', 'acme', event)),
    },
    key ? new Secret(key) : undefined,
  );
}

/** What the failover workflow needs from a function's environment. */
export function failoverDeps(fx: FunctionEnv): FailoverDeps {
  return {
    slb: fx.cloud.slb,
    probeAll: (targets) => probeAll(targets, 8),
    resolveBackend: fx.backendAddress,
    now: () => new Date(),
    ownership: fx.ownership,
    lease: fx.lease,
  };
}
