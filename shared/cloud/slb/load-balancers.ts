// Typed SLB actions: load balancers. DescribeLoadBalancers is page-numbered (PageSize 1-100) and takes
// at most 10 ids per call, so the list method chunks ids and reads every page.
import type { RpcCaller } from '../rpc-types';
import { list, num, reqNum, reqStr, str, type Tag, tagParam, tags } from './wire';

export interface LoadBalancer {
  loadBalancerId: string;
  loadBalancerName: string;
  regionId: string;
  /** active | inactive | locked */
  loadBalancerStatus: string;
  address: string;
  addressType: string;
  networkType: string;
  loadBalancerSpec?: string;
  deleteProtection?: string;
  createTimeStamp?: number;
  tags: Tag[];
}

export interface LoadBalancerDetail extends LoadBalancer {
  /** listeners as (port, protocol) pairs */
  listeners: { listenerPort: number; listenerProtocol: string }[];
}

export interface CreateLoadBalancerRequest {
  regionId: string;
  /** 1-80 characters, starts with a letter */
  loadBalancerName: string;
  addressType?: 'internet' | 'intranet';
  loadBalancerSpec?:
    | 'slb.s1.small'
    | 'slb.s2.small'
    | 'slb.s2.medium'
    | 'slb.s3.small'
    | 'slb.s3.medium'
    | 'slb.s3.large';
  vSwitchId?: string;
  vpcId?: string;
  internetChargeType?: 'paybytraffic' | 'paybybandwidth';
  /** 1-5120 Mbit/s, paybybandwidth only */
  bandwidth?: number;
  /** makes retries of the create idempotent */
  clientToken?: string;
  deleteProtection?: 'on' | 'off';
  masterZoneId?: string;
  slaveZoneId?: string;
  resourceGroupId?: string;
  tags?: Tag[];
}

export interface DescribeLoadBalancersRequest {
  regionId: string;
  /** any number: sent 10 per call */
  loadBalancerIds?: string[];
  /** at most 10 */
  loadBalancerNames?: string[];
  addressType?: 'internet' | 'intranet';
  networkType?: 'vpc' | 'classic';
  loadBalancerStatus?: 'active' | 'inactive' | 'locked';
  /** every tag must match; at most 20 */
  tags?: Tag[];
}

function toLoadBalancer(o: Record<string, unknown>): LoadBalancer {
  return {
    loadBalancerId: reqStr(o.LoadBalancerId, 'LoadBalancerId'),
    loadBalancerName: str(o.LoadBalancerName) ?? '',
    regionId: str(o.RegionId) ?? '',
    loadBalancerStatus: str(o.LoadBalancerStatus) ?? '',
    address: str(o.Address) ?? '',
    addressType: str(o.AddressType) ?? '',
    networkType: str(o.NetworkType) ?? '',
    loadBalancerSpec: str(o.LoadBalancerSpec),
    deleteProtection: str(o.DeleteProtection),
    createTimeStamp: num(o.CreateTimeStamp),
    tags: tags(o),
  };
}

const PAGE_SIZE = 100;

export function loadBalancerApi(rpc: RpcCaller) {
  return {
    /** Every load balancer in the region matching the filters, all pages. */
    async describeLoadBalancers(req: DescribeLoadBalancersRequest): Promise<LoadBalancer[]> {
      const ids = req.loadBalancerIds ?? [];
      const chunks =
        ids.length > 0
          ? Array.from({ length: Math.ceil(ids.length / 10) }, (_, i) => ids.slice(i * 10, i * 10 + 10))
          : [undefined];
      const out: LoadBalancer[] = [];
      for (const chunk of chunks) {
        for (let page = 1; ; page++) {
          const body = await rpc.call({
            product: 'slb',
            action: 'DescribeLoadBalancers',
            regionId: req.regionId,
            params: {
              PageNumber: page,
              PageSize: PAGE_SIZE,
              LoadBalancerId: chunk?.join(','),
              LoadBalancerName: req.loadBalancerNames?.join(','),
              AddressType: req.addressType,
              NetworkType: req.networkType,
              LoadBalancerStatus: req.loadBalancerStatus,
              Tag: tagParam(req.tags),
            },
            write: false,
          });
          const items = list(body, 'LoadBalancers', 'LoadBalancer').map(toLoadBalancer);
          out.push(...items);
          const total = num(body.TotalCount) ?? 0;
          if (items.length < PAGE_SIZE || page * PAGE_SIZE >= total) break;
        }
      }
      return out;
    },

    async describeLoadBalancer(req: {
      regionId: string;
      loadBalancerId: string;
    }): Promise<LoadBalancerDetail> {
      const body = await rpc.call({
        product: 'slb',
        action: 'DescribeLoadBalancerAttribute',
        regionId: req.regionId,
        params: { LoadBalancerId: req.loadBalancerId },
        write: false,
      });
      // Older responses carry only the misspelt ListenerPortsAndProtocal.ListenerProtocal list.
      const correct = list(body, 'ListenerPortsAndProtocol', 'ListenerPortAndProtocol');
      const pairs =
        correct.length > 0 ? correct : list(body, 'ListenerPortsAndProtocal', 'ListenerPortAndProtocal');
      return {
        ...toLoadBalancer(body),
        listeners: pairs.map((l) => ({
          listenerPort: reqNum(l.ListenerPort, 'ListenerPort'),
          listenerProtocol: str(l.ListenerProtocol ?? l.ListenerProtocal) ?? '',
        })),
      };
    },

    async createLoadBalancer(
      req: CreateLoadBalancerRequest,
    ): Promise<{ loadBalancerId: string; address: string }> {
      const body = await rpc.call({
        product: 'slb',
        action: 'CreateLoadBalancer',
        regionId: req.regionId,
        params: {
          LoadBalancerName: req.loadBalancerName,
          AddressType: req.addressType,
          LoadBalancerSpec: req.loadBalancerSpec,
          VSwitchId: req.vSwitchId,
          VpcId: req.vpcId,
          InternetChargeType: req.internetChargeType,
          Bandwidth: req.bandwidth,
          ClientToken: req.clientToken,
          DeleteProtection: req.deleteProtection,
          MasterZoneId: req.masterZoneId,
          SlaveZoneId: req.slaveZoneId,
          ResourceGroupId: req.resourceGroupId,
          Tag: tagParam(req.tags),
        },
        write: true,
      });
      return {
        loadBalancerId: reqStr(body.LoadBalancerId, 'LoadBalancerId'),
        address: str(body.Address) ?? '',
      };
    },

    async deleteLoadBalancer(req: { regionId: string; loadBalancerId: string }): Promise<void> {
      await rpc.call({
        product: 'slb',
        action: 'DeleteLoadBalancer',
        regionId: req.regionId,
        params: { LoadBalancerId: req.loadBalancerId },
        write: true,
      });
    },

    async setLoadBalancerStatus(req: {
      regionId: string;
      loadBalancerId: string;
      loadBalancerStatus: 'active' | 'inactive';
    }): Promise<void> {
      await rpc.call({
        product: 'slb',
        action: 'SetLoadBalancerStatus',
        regionId: req.regionId,
        params: { LoadBalancerId: req.loadBalancerId, LoadBalancerStatus: req.loadBalancerStatus },
        write: true,
      });
    },
  };
}
