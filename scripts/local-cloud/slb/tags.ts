// SLB 2014-05-15 actions: tags on load balancers, VServer groups, certificates and listeners (§6.9).
import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { TagEntry } from '../state';

const RESOURCE_TYPES = ['instance', 'certificate', 'listener', 'vservergroup'] as const;
type ResourceType = (typeof RESOURCE_TYPES)[number];

interface Tagged {
  id: string;
  tags: TagEntry[];
}

function resources(ctx: ActionContext, type: ResourceType): Tagged[] {
  const s = ctx.state;
  const inRegion = new Set(
    s.loadBalancers.filter((lb) => lb.regionId === ctx.regionId).map((lb) => lb.loadBalancerId),
  );
  switch (type) {
    case 'instance':
      return s.loadBalancers
        .filter((x) => x.regionId === ctx.regionId)
        .map((x) => ({ id: x.loadBalancerId, tags: x.tags }));
    case 'certificate':
      return s.serverCertificates
        .filter((x) => x.regionId === ctx.regionId)
        .map((x) => ({ id: x.serverCertificateId, tags: x.tags }));
    case 'vservergroup':
      return s.vServerGroups
        .filter((x) => x.regionId === ctx.regionId)
        .map((x) => ({ id: x.vServerGroupId, tags: x.tags }));
    case 'listener':
      // A listener's resource id is `<LoadBalancerId>_<protocol>_<port>`.
      return s.listeners
        .filter((x) => inRegion.has(x.loadBalancerId))
        .map((x) => ({ id: `${x.loadBalancerId}_${x.listenerProtocol}_${x.listenerPort}`, tags: x.tags }));
  }
}

function checkTag(key: string, value: string | undefined, n: number): void {
  if (key.length > 64 || /^(aliyun|acs:)/i.test(key) || /https?:\/\//.test(key)) {
    throw invalidParameter(
      `Tag.${n}.Key`,
      'must be 1-64 characters, not starting with aliyun or acs:, without http(s)://',
    );
  }
  if (
    value !== undefined &&
    (value.length > 128 || /^(aliyun|acs:)/i.test(value) || /https?:\/\//.test(value))
  ) {
    throw invalidParameter(
      `Tag.${n}.Value`,
      'must be at most 128 characters, not starting with aliyun or acs:, without http(s)://',
    );
  }
}

function targets(ctx: ActionContext): Tagged[] {
  const type = ctx.params.requiredOneOf('ResourceType', RESOURCE_TYPES);
  const ids = ctx.params.list('ResourceId');
  if (ids.length === 0)
    throw new ApiError(
      'MissingParameter',
      'The input parameter "ResourceId.1" that is mandatory for processing this request is not supplied.',
    );
  if (ids.length > 20) throw invalidParameter('ResourceId', 'accepts at most 20 ids');
  const all = resources(ctx, type);
  return ids.map((id) => {
    const r = all.find((x) => x.id === id);
    if (!r) throw invalidParameter('ResourceId', `names a resource that does not exist: ${id}`);
    return r;
  });
}

function tagResources(ctx: ActionContext): Record<string, unknown> {
  const found = targets(ctx);
  const tags = ctx.params.tags();
  if (tags.length === 0)
    throw new ApiError(
      'MissingParameter',
      'The input parameter "Tag.1.Key" that is mandatory for processing this request is not supplied.',
    );
  for (const [i, t] of tags.entries()) checkTag(t.key, t.value, i + 1);
  for (const r of found) {
    const keys = new Set([...r.tags.map((t) => t.key), ...tags.map((t) => t.key)]);
    if (keys.size > 20) throw new ApiError('TagCountLimit', `Resource ${r.id} would have more than 20 tags.`);
  }
  for (const r of found) {
    for (const t of tags) {
      const existing = r.tags.find((x) => x.key === t.key);
      if (existing) existing.value = t.value ?? '';
      else r.tags.push({ key: t.key, value: t.value ?? '' });
    }
  }
  return {};
}

function untagResources(ctx: ActionContext): Record<string, unknown> {
  const found = targets(ctx);
  const keys = ctx.params.list('TagKey');
  ctx.params.bool('All'); // validated only: without TagKey every tag goes, with or without All
  for (const r of found) {
    const keep = keys.length > 0 ? r.tags.filter((t) => !keys.includes(t.key)) : [];
    r.tags.splice(0, r.tags.length, ...keep);
  }
  return {};
}

function listTagResources(ctx: ActionContext): Record<string, unknown> {
  const type = ctx.params.requiredOneOf('ResourceType', RESOURCE_TYPES);
  const ids = ctx.params.list('ResourceId');
  const filter = ctx.params.tags();
  if (ids.length === 0 && filter.length === 0)
    throw new ApiError('MissingParameter', 'ResourceId.N or Tag.N must be given.');
  if (ids.length > 20) throw invalidParameter('ResourceId', 'accepts at most 20 ids');
  const token = ctx.params.str('NextToken');
  const start = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(start) || start < 0) throw invalidParameter('NextToken', 'is not valid');
  const rows = resources(ctx, type)
    .filter(
      (r) =>
        (ids.length === 0 || ids.includes(r.id)) &&
        filter.every((f) =>
          r.tags.some((t) => t.key === f.key && (f.value === undefined || t.value === f.value)),
        ),
    )
    .flatMap((r) =>
      r.tags.map((t) => ({ ResourceId: r.id, ResourceType: type, TagKey: t.key, TagValue: t.value })),
    );
  const page = rows.slice(start, start + 50);
  return {
    TagResources: { TagResource: page },
    NextToken: start + 50 < rows.length ? String(start + 50) : '',
  };
}

export const tagsActions: ActionTable = {
  TagResources: write(tagResources),
  UntagResources: write(untagResources),
  ListTagResources: read(listTagResources),
};
