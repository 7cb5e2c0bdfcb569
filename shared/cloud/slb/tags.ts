// Typed SLB actions: tags, which carry our ownership marker on what we create.
import type { RpcCaller } from '../rpc-types';
import { list, str, type Tag, tagParam } from './wire';

export type TaggableResource = 'instance' | 'certificate' | 'listener' | 'vservergroup';

/** A listener's tag resource id. */
export const listenerResourceId = (loadBalancerId: string, protocol: string, port: number): string =>
  `${loadBalancerId}_${protocol}_${port}`;

export function tagApi(rpc: RpcCaller) {
  return {
    /** At most 20 resources and 20 tags per call (batched over resources). */
    async tagResources(req: {
      regionId: string;
      resourceType: TaggableResource;
      resourceIds: string[];
      tags: Tag[];
    }): Promise<void> {
      for (let i = 0; i < req.resourceIds.length; i += 20) {
        await rpc.call({
          product: 'slb',
          action: 'TagResources',
          regionId: req.regionId,
          params: {
            ResourceType: req.resourceType,
            ResourceId: req.resourceIds.slice(i, i + 20),
            Tag: tagParam(req.tags),
          },
          write: true,
        });
      }
    },

    async untagResources(req: {
      regionId: string;
      resourceType: TaggableResource;
      resourceIds: string[];
      tagKeys: string[];
    }): Promise<void> {
      for (let i = 0; i < req.resourceIds.length; i += 20) {
        await rpc.call({
          product: 'slb',
          action: 'UntagResources',
          regionId: req.regionId,
          params: {
            ResourceType: req.resourceType,
            ResourceId: req.resourceIds.slice(i, i + 20),
            TagKey: req.tagKeys,
          },
          write: true,
        });
      }
    },

    /** Every (resource, tag) row matching, all pages; at most 20 ResourceId.N per call, so batched. */
    async listTagResources(req: {
      regionId: string;
      resourceType: TaggableResource;
      resourceIds?: string[];
      tags?: Tag[];
    }): Promise<{ resourceId: string; key: string; value: string }[]> {
      const ids = req.resourceIds ?? [];
      const batches =
        ids.length > 0
          ? Array.from({ length: Math.ceil(ids.length / 20) }, (_, i) => ids.slice(i * 20, i * 20 + 20))
          : [undefined];
      const out: { resourceId: string; key: string; value: string }[] = [];
      for (const batch of batches) {
        let token: string | undefined;
        do {
          const body = await rpc.call({
            product: 'slb',
            action: 'ListTagResources',
            regionId: req.regionId,
            params: {
              ResourceType: req.resourceType,
              ResourceId: batch,
              Tag: tagParam(req.tags),
              NextToken: token,
            },
            write: false,
          });
          out.push(
            ...list(body, 'TagResources', 'TagResource').map((r) => ({
              resourceId: str(r.ResourceId) ?? '',
              key: str(r.TagKey) ?? '',
              value: str(r.TagValue) ?? '',
            })),
          );
          token = str(body.NextToken) || undefined;
        } while (token);
      }
      return out;
    },
  };
}
