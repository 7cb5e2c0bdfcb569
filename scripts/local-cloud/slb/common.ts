// Lookups and response pieces shared by the emulated SLB actions.

import { ApiError } from '../errors';
import type { ActionContext } from '../handler';
import type { ListenerRecord, LoadBalancerRecord, TagEntry } from '../state';

export function findLoadBalancer(ctx: ActionContext, loadBalancerId: string): LoadBalancerRecord {
  const lb = ctx.state.loadBalancers.find(
    (x) => x.loadBalancerId === loadBalancerId && x.regionId === ctx.regionId,
  );
  if (!lb)
    throw new ApiError('InvalidLoadBalancerId.NotFound', 'The specified Load Balancer does not exist.', 404);
  return lb;
}

/** The LB must be writable: `locked` instances refuse every change. */
export function assertWritable(lb: LoadBalancerRecord): void {
  if (lb.loadBalancerStatus === 'locked')
    throw new ApiError('ActionNotAllowed', 'Locked for any Business Reason.');
}

/**
 * The listener on a port. Without a protocol and with two listeners on the port, the API answers
 * TooManyListeners; a missing listener is `InvalidParameter` "The specified resource does not exist."
 */
export function findListener(
  ctx: ActionContext,
  loadBalancerId: string,
  listenerPort: number,
  protocol?: ListenerRecord['listenerProtocol'],
): ListenerRecord {
  const matches = ctx.state.listeners.filter(
    (l) =>
      l.loadBalancerId === loadBalancerId &&
      l.listenerPort === listenerPort &&
      (protocol === undefined || l.listenerProtocol === protocol),
  );
  if (matches.length > 1) {
    throw new ApiError('TooManyListeners', 'More than 1 listener is found, please be more specified.');
  }
  const found = matches[0];
  if (!found) throw new ApiError('InvalidParameter', 'The specified resource does not exist.', 404);
  return found;
}

/** `Tags: {Tag: [{TagKey, TagValue}]}` */
export function tagsBody(tags: readonly TagEntry[]): { Tag: { TagKey: string; TagValue: string }[] } {
  return { Tag: tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) };
}

/** Whether a resource carries every `Tag.N` filter pair of the request (a key alone matches any value). */
export function matchesTags(
  tags: readonly TagEntry[],
  filter: readonly { key: string; value: string | undefined }[],
): boolean {
  return filter.every((f) =>
    tags.some((t) => t.key === f.key && (f.value === undefined || t.value === f.value)),
  );
}

/** `YYYY-MM-DDTHH:mm:ssZ` */
export function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
