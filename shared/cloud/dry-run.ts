// Dry run as a decorator around the RPC seam: reads pass through, writes are recorded as planned
// calls and answered without being sent.

import type { RpcCaller, RpcRequest, RpcResponse } from './rpc-types';

export type PlannedCall = Pick<RpcRequest, 'product' | 'action' | 'regionId' | 'params'>;

export interface DryRunCaller extends RpcCaller {
  planned(): PlannedCall[];
}

export function withDryRun(inner: RpcCaller): DryRunCaller {
  const planned: PlannedCall[] = [];
  return {
    async call(request): Promise<RpcResponse> {
      if (!request.write) return inner.call(request);
      planned.push({
        product: request.product,
        action: request.action,
        regionId: request.regionId,
        params: structuredClone(request.params),
      });
      return { RequestId: `dry-run-${planned.length}`, DryRun: true };
    },
    planned: () => structuredClone(planned),
  };
}
