// Typed SLB actions: listeners.
import type { RpcCaller } from '../rpc-types';

export function listenerApi(_rpc: RpcCaller) {
  return {};
}
