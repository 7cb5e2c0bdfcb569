// The typed SLB 2014-05-15 client: every action the workflows use, in our camelCase model,
// over one RpcCaller (retries, rate budget, accounting and dry run live below this line).
import type { RpcCaller } from '../rpc-types';
import { certificateApi } from './certificates';
import { domainExtensionApi } from './domain-extensions';
import { healthApi } from './health';
import { listenerApi } from './listeners';
import { loadBalancerApi } from './load-balancers';
import { ruleApi } from './rules';
import { tagApi } from './tags';
import { vServerGroupApi } from './vserver-groups';

export function createSlbClient(rpc: RpcCaller) {
  return {
    ...loadBalancerApi(rpc),
    ...listenerApi(rpc),
    ...vServerGroupApi(rpc),
    ...healthApi(rpc),
    ...certificateApi(rpc),
    ...domainExtensionApi(rpc),
    ...ruleApi(rpc),
    ...tagApi(rpc),
  };
}

export type SlbClient = ReturnType<typeof createSlbClient>;
