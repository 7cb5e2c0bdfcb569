// What every function builds per invocation from its environment and FC context: the spec (parsed once
// per instance), the cloud (local or real), where listeners and backends really answer (the local cloud
// maps them to loopback ports), and the notifier the spec's `notify` names.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cloud } from '../cloud/index';
import { type ListenerAddressResolver, listenerAddressResolver } from '../cloud/listener-address';
import { createNotifier, type Notifier, notifierConfigFromEnv } from '../cloud/notify';
import { probeAll } from '../cloud/probe';
import { waitForServedCertificate } from '../cloud/tls-probe';
import { backendKey } from '../domain/keys';
import type { OwnershipMarker } from '../domain/ownership';
import type { Spec } from '../domain/spec';
import type { RenewalDeps, RenewalOptions } from '../workflows/cert-renewal';
import { type BackendAddressResolver, directBackendAddress, type FailoverDeps } from '../workflows/failover';
import type { LeaseOptions } from '../workflows/lease';
import { cloudFromContext } from './cloud-from-context';
import { type Config, loadConfig } from './config';
import { leaseFromConfig, ownershipFromConfig } from './deployment';
import type { FcContext } from './fc-events';
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
        const hit = map[backendKey(b)];
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

/**
 * What the renewal workflow needs from a function's environment, and how hard it verifies. `acme`: the
 * issuer for `acme` sources, given only by the function that issues (cert-renewal), so the ACME code and
 * the DNS permissions stay out of the others.
 */
export function renewalRun(
  fx: FunctionEnv,
  dryRun: boolean,
  acme?: RenewalDeps['acme'],
): [RenewalDeps, RenewalOptions] {
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
      ...(acme ? { acme } : {}),
    },
    {
      dryRun,
      verifyAttempts: fx.config.SLB_AUTOPILOT_VERIFY_ATTEMPTS,
      verifyDelayMs: fx.config.SLB_AUTOPILOT_VERIFY_DELAY_MS,
    },
  ];
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
