// Typed SLB actions: health.
import type { RpcCaller } from '../rpc-types';

export function healthApi(_rpc: RpcCaller) {
  return {};
}
