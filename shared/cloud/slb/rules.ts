// Typed SLB actions: rules.
import type { RpcCaller } from '../rpc-types';

export function ruleApi(_rpc: RpcCaller) {
  return {};
}
