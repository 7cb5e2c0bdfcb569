// Typed SLB actions: vserver groups.
import type { RpcCaller } from '../rpc-types';

export function vServerGroupApi(_rpc: RpcCaller) {
  return {};
}
