// The one seam every typed action goes through: an RPC call to a product, in a region.
// The implementation (rpc.ts) adds endpoints, signing, timeouts, retries, the rate budget and
// call accounting; tests and the dry-run decorator wrap or replace it.

/**
 * `regionParam`: whether the API's actions take a `RegionId` parameter. SLB's do; CAS 2020-04-07 has
 * none (the region is in the endpoint), so sending one would be an undocumented parameter.
 */
export const PRODUCTS = {
  slb: { version: '2014-05-15', regionParam: true },
  cas: { version: '2020-04-07', regionParam: false },
  /** Alibaba Cloud DNS: global, its actions take no RegionId */
  alidns: { version: '2015-01-09', regionParam: false },
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
  /** API parameters without RegionId (added by the caller where the API takes it) */
  params: Record<string, RpcParamValue>;
  /** true for actions that change state: they draw from the write budget and are held back by dry run */
  write: boolean;
  /**
   * Checks a successful body; a CloudError thrown here (e.g. notYetVisible) counts as that attempt's
   * failure and is retried like an API error.
   */
  check?: (body: RpcResponse) => void;
}

/** The parsed JSON body of a successful response (PascalCase, as on the wire). */
export type RpcResponse = Record<string, unknown>;

export interface RpcCaller {
  call(request: RpcRequest): Promise<RpcResponse>;
}
