// Typed SLB actions: certificates.
import type { RpcCaller } from '../rpc-types';

export function certificateApi(_rpc: RpcCaller) {
  return {};
}
