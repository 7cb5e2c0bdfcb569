// Typed SLB actions: domain extensions.
import type { RpcCaller } from '../rpc-types';

export function domainExtensionApi(_rpc: RpcCaller) {
  return {};
}
