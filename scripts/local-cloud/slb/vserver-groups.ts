// SLB 2014-05-15 actions: VServer groups and their backends (reference §6.4).
import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { BackendServerRecord, VServerGroupRecord } from '../state';
import { assertWritable, findLoadBalancer, isoSeconds, matchesTags, tagsBody } from './common';

const NAME = /^[A-Za-z0-9\-/._\u4e00-\u9fa5]{1,80}$/;
const DESCRIPTION = /^[A-Za-z0-9\-/._\u4e00-\u9fa5]{1,80}$/;

export function findGroup(ctx: ActionContext, id: string): VServerGroupRecord {
  const g = ctx.state.vServerGroups.find((x) => x.vServerGroupId === id && x.regionId === ctx.regionId);
  if (!g) throw new ApiError('InvalidParameter', 'The specified VServerGroupId does not exist.', 404);
  return g;
}

/** Case-insensitive keys, numbers or numeric strings, as the service accepts (reference §6.4). */
function field(o: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o[k];
}

function intField(
  o: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  param: string,
): number | undefined {
  const v = field(o, name);
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidParameter(
      `${param}.${name}`,
      `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/**
 * Parses and checks a BackendServers JSON string. Members being attached (`attaching`) must be running
 * instances; removals and weight changes only name members.
 */
export function parseBackends(
  ctx: ActionContext,
  param: string,
  required = true,
  attaching = true,
): BackendServerRecord[] {
  const raw = ctx.params.json(param, 'BackendServersMalformed');
  if (raw === undefined) {
    if (required)
      throw new ApiError(
        'MissingParameter',
        `The input parameter "${param}" that is mandatory for processing this request is not supplied.`,
      );
    return [];
  }
  if (!Array.isArray(raw))
    throw new ApiError('BackendServersMalformed', `The specified ${param} is not a JSON array.`);
  if (raw.length > ctx.limits.backendServersPerCall) {
    throw new ApiError(
      'TooManyBackendServers',
      `The number of backend servers exceeds the limit, max supported number: ${ctx.limits.backendServersPerCall}.`,
    );
  }
  return raw.map((entry, i) => {
    if (entry === null || typeof entry !== 'object')
      throw new ApiError('BackendServersMalformed', `${param}[${i}] is not an object.`);
    const o = entry as Record<string, unknown>;
    const serverId = field(o, 'ServerId');
    if (typeof serverId !== 'string' || serverId === '')
      throw new ApiError(
        'MissingParameter',
        `The input parameter "${param}[${i}].ServerId" is not supplied.`,
      );
    const port = intField(o, 'Port', 1, 65535, param);
    if (port === undefined)
      throw new ApiError('MissingParameter', `The input parameter "${param}[${i}].Port" is not supplied.`);
    // Weight outside 0-100: the SLB table names InvalidWeight.Malformed for this case.
    let weight: number | undefined;
    try {
      weight = intField(o, 'Weight', 0, 100, param);
    } catch {
      throw new ApiError(
        'InvalidWeight.Malformed',
        `The specified ${param}[${i}].Weight must be an integer in [0, 100].`,
      );
    }
    const type = (field(o, 'Type') as string | undefined) ?? 'ecs';
    if (!['ecs', 'eni', 'eci'].includes(type))
      throw invalidParameter(`${param}.Type`, 'must be ecs, eni or eci');
    const description = field(o, 'Description');
    if (description !== undefined && (typeof description !== 'string' || !DESCRIPTION.test(description))) {
      throw invalidParameter(`${param}.Description`, 'must be 1-80 letters, digits, -, /, . or _');
    }
    const serverIp = field(o, 'ServerIp');
    const instance = ctx.state.instances.find((x) => x.serverId === serverId && x.regionId === ctx.regionId);
    // A missing or stopped server cannot be attached: the service says ObtainIpFail.
    if (attaching && instance?.status !== 'Running') {
      throw new ApiError(
        'ObtainIpFail',
        `The specified server ${serverId} does not exist or is not running.`,
      );
    }
    return {
      serverId,
      port,
      weight: weight ?? 100,
      type: type as BackendServerRecord['type'],
      serverIp: typeof serverIp === 'string' && serverIp ? serverIp : (instance?.privateIp ?? ''),
      ...(typeof description === 'string' ? { description } : {}),
    };
  });
}

const sameMember = (a: BackendServerRecord, b: BackendServerRecord) =>
  a.serverId === b.serverId && a.port === b.port && (a.type === 'ecs' || a.serverIp === b.serverIp);

/**
 * The members as an answer lists them. Per the official response models, only
 * DescribeVServerGroupAttribute carries `ServerIp`, and RemoveVServerGroupBackendServers no `Description`.
 */
export function backendsBody(
  members: readonly BackendServerRecord[],
  fields: { serverIp?: boolean; description?: boolean } = {},
): {
  BackendServer: Record<string, unknown>[];
} {
  return {
    BackendServer: members.map((b) => ({
      ServerId: b.serverId,
      ...(fields.serverIp ? { ServerIp: b.serverIp } : {}),
      Port: b.port,
      Weight: b.weight,
      Type: b.type,
      ...(b.description !== undefined && fields.description !== false ? { Description: b.description } : {}),
    })),
  };
}

function groupName(ctx: ActionContext): string | undefined {
  const name = ctx.params.str('VServerGroupName');
  if (name !== undefined && !NAME.test(name))
    throw invalidParameter('VServerGroupName', 'must be 1-80 letters, digits, -, /, . or _');
  return name;
}

function assertGroupWritable(ctx: ActionContext, g: VServerGroupRecord): void {
  assertWritable(findLoadBalancer(ctx, g.loadBalancerId));
}

function createVServerGroup(ctx: ActionContext): Record<string, unknown> {
  const lb = findLoadBalancer(ctx, ctx.params.requiredStr('LoadBalancerId'));
  const name = groupName(ctx);
  const members = parseBackends(ctx, 'BackendServers', false);
  const tags = ctx.params.tags();
  assertWritable(lb);
  const deduped = members.filter((m, i) => members.findIndex((x) => sameMember(x, m)) === i);
  const g: VServerGroupRecord = {
    vServerGroupId: ctx.newId('rsp-bp1'),
    vServerGroupName: name ?? '',
    loadBalancerId: lb.loadBalancerId,
    regionId: ctx.regionId,
    createTime: isoSeconds(ctx.now),
    backendServers: deduped,
    tags: tags.map((t) => ({ key: t.key, value: t.value ?? '' })),
  };
  ctx.state.vServerGroups.push(g);
  return { VServerGroupId: g.vServerGroupId, BackendServers: backendsBody(g.backendServers) };
}

function describeVServerGroups(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const withListeners = p.bool('IncludeListener') ?? false;
  const withRules = p.bool('IncludeRule') ?? false;
  const nameFilter = p.str('Description');
  const tagFilter = p.tags();
  const groups = ctx.state.vServerGroups.filter(
    (g) =>
      g.loadBalancerId === lb.loadBalancerId &&
      (nameFilter === undefined || g.vServerGroupName.includes(nameFilter)) &&
      matchesTags(g.tags, tagFilter),
  );
  return {
    VServerGroups: {
      VServerGroup: groups.map((g) => ({
        VServerGroupId: g.vServerGroupId,
        VServerGroupName: g.vServerGroupName,
        CreateTime: g.createTime,
        ServerCount: g.backendServers.length,
        Tags: tagsBody(g.tags),
        ...(withListeners || withRules
          ? {
              AssociatedObjects: {
                ...(withListeners
                  ? {
                      Listeners: {
                        Listener: ctx.state.listeners
                          .filter((l) => l.vServerGroupId === g.vServerGroupId)
                          .map((l) => ({ Port: l.listenerPort, Protocol: l.listenerProtocol })),
                      },
                    }
                  : {}),
                ...(withRules
                  ? {
                      Rules: {
                        Rule: ctx.state.rules
                          .filter((r) => r.vServerGroupId === g.vServerGroupId)
                          .map((r) => ({
                            RuleId: r.ruleId,
                            RuleName: r.ruleName,
                            Domain: r.domain,
                            Url: r.url,
                          })),
                      },
                    }
                  : {}),
              },
            }
          : {}),
      })),
    },
  };
}

function describeVServerGroupAttribute(ctx: ActionContext): Record<string, unknown> {
  const g = findGroup(ctx, ctx.params.requiredStr('VServerGroupId'));
  return {
    VServerGroupId: g.vServerGroupId,
    VServerGroupName: g.vServerGroupName,
    LoadBalancerId: g.loadBalancerId,
    CreateTime: g.createTime,
    BackendServers: backendsBody(g.backendServers, { serverIp: true }),
    Tags: tagsBody(g.tags),
  };
}

function addBackends(ctx: ActionContext): Record<string, unknown> {
  const g = findGroup(ctx, ctx.params.requiredStr('VServerGroupId'));
  const members = parseBackends(ctx, 'BackendServers');
  assertGroupWritable(ctx, g);
  for (const m of members) {
    const existing = g.backendServers.find((x) => sameMember(x, m));
    if (existing) Object.assign(existing, m);
    else g.backendServers.push(m);
  }
  return { VServerGroupId: g.vServerGroupId, BackendServers: backendsBody(g.backendServers) };
}

function removeBackends(ctx: ActionContext): Record<string, unknown> {
  const g = findGroup(ctx, ctx.params.requiredStr('VServerGroupId'));
  const members = parseBackends(ctx, 'BackendServers', true, false);
  assertGroupWritable(ctx, g);
  // Entries that are not members are silently ignored, as on the real service.
  g.backendServers = g.backendServers.filter((x) => !members.some((m) => sameMember(x, m)));
  return {
    VServerGroupId: g.vServerGroupId,
    BackendServers: backendsBody(g.backendServers, { description: false }),
  };
}

function modifyBackends(ctx: ActionContext): Record<string, unknown> {
  const g = findGroup(ctx, ctx.params.requiredStr('VServerGroupId'));
  const oldMembers = parseBackends(ctx, 'OldBackendServers', true, false);
  const newMembers = parseBackends(ctx, 'NewBackendServers');
  assertGroupWritable(ctx, g);
  for (const m of oldMembers) {
    if (!g.backendServers.some((x) => sameMember(x, m))) {
      throw invalidParameter('OldBackendServers', `names ${m.serverId}:${m.port}, which is not in the group`);
    }
  }
  g.backendServers = g.backendServers.filter((x) => !oldMembers.some((m) => sameMember(x, m)));
  for (const m of newMembers) if (!g.backendServers.some((x) => sameMember(x, m))) g.backendServers.push(m);
  return { VServerGroupId: g.vServerGroupId, BackendServers: backendsBody(g.backendServers) };
}

/** Renames the group and sets weights/descriptions of existing members; never adds or removes. */
function setVServerGroupAttribute(ctx: ActionContext): Record<string, unknown> {
  const g = findGroup(ctx, ctx.params.requiredStr('VServerGroupId'));
  const name = groupName(ctx);
  const members = parseBackends(ctx, 'BackendServers', false, false);
  const raw = (ctx.params.json('BackendServers') ?? []) as Record<string, unknown>[];
  assertGroupWritable(ctx, g);
  members.forEach((m, i) => {
    const existing = g.backendServers.find((x) => sameMember(x, m));
    if (!existing) return; // not a member: ignored, as the service does
    const entry = raw[i] ?? {};
    if (field(entry, 'Weight') !== undefined) existing.weight = m.weight;
    if (m.description !== undefined) existing.description = m.description;
  });
  if (name !== undefined) g.vServerGroupName = name;
  return {
    VServerGroupId: g.vServerGroupId,
    VServerGroupName: g.vServerGroupName,
    BackendServers: backendsBody(g.backendServers),
  };
}

function deleteVServerGroup(ctx: ActionContext): Record<string, unknown> {
  const g = findGroup(ctx, ctx.params.requiredStr('VServerGroupId'));
  assertGroupWritable(ctx, g);
  if (ctx.state.listeners.some((l) => l.vServerGroupId === g.vServerGroupId)) {
    throw new ApiError('RspoolVipExist', 'The specified VServerGroup is in use by a listener.');
  }
  if (ctx.state.rules.some((r) => r.vServerGroupId === g.vServerGroupId)) {
    throw new ApiError('RspoolRuleExist', 'The specified VServerGroup is in use by a forwarding rule.');
  }
  ctx.state.vServerGroups = ctx.state.vServerGroups.filter((x) => x !== g);
  return {};
}

export const vserverGroupsActions: ActionTable = {
  CreateVServerGroup: write(createVServerGroup),
  DescribeVServerGroups: read(describeVServerGroups),
  DescribeVServerGroupAttribute: read(describeVServerGroupAttribute),
  AddVServerGroupBackendServers: write(addBackends),
  RemoveVServerGroupBackendServers: write(removeBackends),
  ModifyVServerGroupBackendServers: write(modifyBackends),
  SetVServerGroupAttribute: write(setVServerGroupAttribute),
  DeleteVServerGroup: write(deleteVServerGroup),
};
