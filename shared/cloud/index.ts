// The cloud layer's front door: one RPC caller (optionally dry-run) and the typed SLB and CAS clients on it.
import { createCasClient } from './cas';
import { type CloudTarget, resolveCloudTarget } from './credentials';
import { createDnsClient } from './dns';
import { type DryRunCaller, withDryRun } from './dry-run';
import { createRpcClient, type RpcClient, type RpcClientOptions } from './rpc';
import type { RpcCaller } from './rpc-types';
import { createSlbClient } from './slb';

export interface CloudOptions extends Partial<Omit<RpcClientOptions, 'credentials' | 'endpoint'>> {
  target?: CloudTarget;
  dryRun?: boolean;
}

export function createCloud(options: CloudOptions = {}) {
  const target = options.target ?? resolveCloudTarget(process.env);
  const rpc: RpcClient = createRpcClient({
    ...options,
    credentials: target.credentials,
    ...(target.kind === 'local' ? { endpoint: target.endpoint } : {}),
  });
  const caller: RpcCaller | DryRunCaller = options.dryRun ? withDryRun(rpc) : rpc;
  return {
    target: target.kind,
    rpc: caller,
    accounting: rpc.accounting,
    slb: createSlbClient(caller),
    cas: createCasClient(caller),
    dns: createDnsClient(caller),
  };
}

export type Cloud = ReturnType<typeof createCloud>;
export { CloudError } from './errors';
