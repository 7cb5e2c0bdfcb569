// Typed SLB actions: VServer groups. BackendServers travel as a JSON string built here; lists longer
// than the per-call limit (20) are split into batches.
import type { RpcCaller } from '../rpc-types';
import { list, num, reqStr, str, type Tag, tagParam, tags } from './wire';

/** The documented maximum of BackendServers entries per call. */
export const BACKENDS_PER_CALL = 20;

export interface BackendServer {
  /** ECS `i-…`, ENI `eni-…` or ECI `eci-…` */
  serverId: string;
  /** 1-65535 */
  port: number;
  /** 0-100; 0 drains new connections */
  weight: number;
  type?: 'ecs' | 'eni' | 'eci';
  /** required for eni/eci */
  serverIp?: string;
  /** 1-80 characters: letters, digits, - / . _ */
  description?: string;
}

export interface VServerGroup {
  vServerGroupId: string;
  vServerGroupName: string;
  loadBalancerId?: string;
  backendServers: BackendServer[];
  tags: Tag[];
}

export interface VServerGroupSummary {
  vServerGroupId: string;
  vServerGroupName: string;
  /** listeners using the group, when asked for */
  listeners: { port: number; protocol: string }[];
  /** rules using the group, when asked for */
  ruleIds: string[];
  tags: Tag[];
}

function toBackend(o: Record<string, unknown>): BackendServer {
  return {
    serverId: reqStr(o.ServerId, 'ServerId'),
    port: num(o.Port) ?? 0,
    weight: num(o.Weight) ?? 100,
    type: (str(o.Type) ?? 'ecs') as BackendServer['type'],
    serverIp: str(o.ServerIp),
    description: str(o.Description),
  };
}

/** The wire JSON: PascalCase keys, as documented. */
export function backendServersJson(members: readonly Partial<BackendServer>[]): string {
  return JSON.stringify(
    members.map((m) => ({
      ServerId: m.serverId,
      Port: m.port,
      ...(m.weight !== undefined ? { Weight: m.weight } : {}),
      ...(m.type !== undefined ? { Type: m.type } : {}),
      ...(m.serverIp !== undefined ? { ServerIp: m.serverIp } : {}),
      ...(m.description !== undefined ? { Description: m.description } : {}),
    })),
  );
}

function batches<T>(items: readonly T[], size = BACKENDS_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function vServerGroupApi(rpc: RpcCaller) {
  const groupCall = async (
    action: string,
    regionId: string,
    vServerGroupId: string,
    members: readonly Partial<BackendServer>[],
    extra: Record<string, string | undefined> = {},
  ) => {
    let last: BackendServer[] = [];
    const chunks = members.length > 0 ? batches(members) : [[]];
    for (const chunk of chunks) {
      const body = await rpc.call({
        product: 'slb',
        action,
        regionId,
        params: {
          VServerGroupId: vServerGroupId,
          ...(chunk.length > 0 ? { BackendServers: backendServersJson(chunk) } : {}),
          ...extra,
        },
        write: true,
      });
      last = list(body, 'BackendServers', 'BackendServer').map(toBackend);
    }
    return last;
  };

  return {
    async createVServerGroup(req: {
      regionId: string;
      loadBalancerId: string;
      /** 1-80 characters */
      vServerGroupName: string;
      backendServers?: BackendServer[];
      tags?: Tag[];
    }): Promise<{ vServerGroupId: string }> {
      const [first = [], ...rest] = batches(req.backendServers ?? []);
      const body = await rpc.call({
        product: 'slb',
        action: 'CreateVServerGroup',
        regionId: req.regionId,
        params: {
          LoadBalancerId: req.loadBalancerId,
          VServerGroupName: req.vServerGroupName,
          ...(first.length > 0 ? { BackendServers: backendServersJson(first) } : {}),
          Tag: tagParam(req.tags),
        },
        write: true,
      });
      const vServerGroupId = reqStr(body.VServerGroupId, 'VServerGroupId');
      if (rest.length > 0)
        await groupCall('AddVServerGroupBackendServers', req.regionId, vServerGroupId, rest.flat());
      return { vServerGroupId };
    },

    async describeVServerGroups(req: {
      regionId: string;
      loadBalancerId: string;
      includeListeners?: boolean;
      includeRules?: boolean;
    }): Promise<VServerGroupSummary[]> {
      const body = await rpc.call({
        product: 'slb',
        action: 'DescribeVServerGroups',
        regionId: req.regionId,
        params: {
          LoadBalancerId: req.loadBalancerId,
          IncludeListener: req.includeListeners,
          IncludeRule: req.includeRules,
        },
        write: false,
      });
      return list(body, 'VServerGroups', 'VServerGroup').map((g) => {
        const assoc = (g.AssociatedObjects ?? {}) as Record<string, unknown>;
        return {
          vServerGroupId: reqStr(g.VServerGroupId, 'VServerGroupId'),
          vServerGroupName: str(g.VServerGroupName) ?? '',
          listeners: list(assoc, 'Listeners', 'Listener').map((l) => ({
            port: num(l.Port) ?? 0,
            protocol: str(l.Protocol) ?? '',
          })),
          ruleIds: list(assoc, 'Rules', 'Rule').map((r) => str(r.RuleId) ?? ''),
          tags: tags(g),
        };
      });
    },

    async describeVServerGroup(req: { regionId: string; vServerGroupId: string }): Promise<VServerGroup> {
      const body = await rpc.call({
        product: 'slb',
        action: 'DescribeVServerGroupAttribute',
        regionId: req.regionId,
        params: { VServerGroupId: req.vServerGroupId },
        write: false,
      });
      return {
        vServerGroupId: reqStr(body.VServerGroupId, 'VServerGroupId'),
        vServerGroupName: str(body.VServerGroupName) ?? '',
        loadBalancerId: str(body.LoadBalancerId),
        backendServers: list(body, 'BackendServers', 'BackendServer').map(toBackend),
        tags: tags(body),
      };
    },

    /** Adds (or updates) members, 20 per call; returns the group's members after the last call. */
    addBackendServers: (req: { regionId: string; vServerGroupId: string; backendServers: BackendServer[] }) =>
      groupCall('AddVServerGroupBackendServers', req.regionId, req.vServerGroupId, req.backendServers),

    /** Removes members (absent ones are ignored by the service), 20 per call. */
    removeBackendServers: (req: {
      regionId: string;
      vServerGroupId: string;
      backendServers: Pick<BackendServer, 'serverId' | 'port' | 'type' | 'serverIp'>[];
    }) => groupCall('RemoveVServerGroupBackendServers', req.regionId, req.vServerGroupId, req.backendServers),

    /** Replaces members one for one (at most 20 of each per call). */
    async modifyBackendServers(req: {
      regionId: string;
      vServerGroupId: string;
      oldBackendServers: BackendServer[];
      newBackendServers: BackendServer[];
    }): Promise<BackendServer[]> {
      if (
        req.oldBackendServers.length > BACKENDS_PER_CALL ||
        req.newBackendServers.length > BACKENDS_PER_CALL
      ) {
        throw new RangeError(`modifyBackendServers: at most ${BACKENDS_PER_CALL} members per side`);
      }
      const body = await rpc.call({
        product: 'slb',
        action: 'ModifyVServerGroupBackendServers',
        regionId: req.regionId,
        params: {
          VServerGroupId: req.vServerGroupId,
          OldBackendServers: backendServersJson(req.oldBackendServers),
          NewBackendServers: backendServersJson(req.newBackendServers),
        },
        write: true,
      });
      return list(body, 'BackendServers', 'BackendServer').map(toBackend);
    },

    /** Sets weights (and descriptions) of existing members and optionally the name, 20 members per call. */
    setVServerGroupAttribute: (req: {
      regionId: string;
      vServerGroupId: string;
      vServerGroupName?: string;
      backendServers?: Pick<
        BackendServer,
        'serverId' | 'port' | 'weight' | 'type' | 'serverIp' | 'description'
      >[];
    }) =>
      groupCall('SetVServerGroupAttribute', req.regionId, req.vServerGroupId, req.backendServers ?? [], {
        VServerGroupName: req.vServerGroupName,
      }),

    async deleteVServerGroup(req: { regionId: string; vServerGroupId: string }): Promise<void> {
      await rpc.call({
        product: 'slb',
        action: 'DeleteVServerGroup',
        regionId: req.regionId,
        params: { VServerGroupId: req.vServerGroupId },
        write: true,
      });
    },
  };
}
