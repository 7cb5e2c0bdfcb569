// The one batching helper: APIs that take at most N items per call (SetVServerGroupAttribute's 20
// backends, tag calls' 20 resources, DescribeLoadBalancerListeners' 10 ids) are called once per chunk.

/** `items` in order, cut into chunks of at most `size` (the last may be shorter); none for no items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`chunk size must be a positive integer, not ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
