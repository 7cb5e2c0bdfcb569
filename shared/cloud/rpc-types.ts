// The one seam every typed action goes through: an RPC call to a product, in a region.
// The implementation (rpc.ts) adds endpoints, signing, timeouts, retries, the rate budget and
// call accounting; tests and the dry-run decorator wrap or replace it.

export const PRODUCTS = {
  slb: { version: '2014-05-15' },
  cas: { version: '2020-04-07' },
  /** Alibaba Cloud DNS: global, its actions take no RegionId */
  alidns: { version: '2015-01-09' },
} as const;

export type Product = keyof typeof PRODUCTS;

/** Parameter values as the typed layer hands them over; arrays of scalars/objects become `Name.N[.Field]`. */
export type RpcParamValue =
  | string
  | number
  | boolean
  | undefined
  | null
  | RpcParamValue[]
  | { [k: string]: RpcParamValue };

export interface RpcRequest {
  product: Product;
  /** the wire action name, e.g. `DescribeLoadBalancers` */
  action: string;
  regionId: string;
  /** API parameters without RegionId (always added by the caller) */
  params: Record<string, RpcParamValue>;
  /** true for actions that change state: they draw from the write budget and are held back by dry run */
  write: boolean;
}

/** The parsed JSON body of a successful response (PascalCase, as on the wire). */
export type RpcResponse = Record<string, unknown>;

export interface RpcCaller {
  call(request: RpcRequest): Promise<RpcResponse>;
}
