// Dry run as a decorator around the RPC seam: reads pass through, writes are recorded as planned
// calls and answered without being sent.

import type { RpcCaller, RpcRequest, RpcResponse } from './rpc-types';

export type PlannedCall = Pick<RpcRequest, 'product' | 'action' | 'regionId' | 'params'>;

export interface DryRunCaller extends RpcCaller {
  planned(): PlannedCall[];
}

/** Request fields that carry private keys (SLB UploadServerCertificate, CAS UploadUserCertificate). */
const SECRET_PARAMS = new Set(['PrivateKey', 'Key']);

export function withDryRun(inner: RpcCaller): DryRunCaller {
  const planned: PlannedCall[] = [];
  return {
    async call(request): Promise<RpcResponse> {
      if (!request.write) return inner.call(request);
      planned.push({
        product: request.product,
        action: request.action,
        regionId: request.regionId,
        params: Object.fromEntries(
          Object.entries(request.params).map(([k, v]) => [
            k,
            SECRET_PARAMS.has(k) ? '[redacted]' : structuredClone(v),
          ]),
        ),
      });
      return { RequestId: `dry-run-${planned.length}`, DryRun: true };
    },
    planned: () => structuredClone(planned),
  };
}
