// Typed SLB actions: tags.
import type { RpcCaller } from '../rpc-types';

export function tagApi(_rpc: RpcCaller) {
  return {};
}
