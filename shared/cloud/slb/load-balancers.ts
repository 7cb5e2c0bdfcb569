// Typed SLB actions: load balancers.
import type { RpcCaller } from '../rpc-types';

export function loadBalancerApi(_rpc: RpcCaller) {
  return {};
}
