// Region -> API endpoint, as the official SDKs' endpoint maps say (reference §2; CAS from the
// @alicloud/cas20200407 package's own map). Unlisted regions use `<product>.<region>.aliyuncs.com`.

import type { Product } from './rpc-types';

const SLB_CENTRAL = new Set([
  'cn-qingdao',
  'cn-beijing',
  'cn-hangzhou',
  'cn-shanghai',
  'cn-shenzhen',
  'cn-hongkong',
  'ap-southeast-1',
  'us-east-1',
  'us-west-1',
  'cn-shanghai-finance-1',
  'cn-shenzhen-finance-1',
  'cn-north-2-gov-1',
  'cn-beijing-gov-1',
  'cn-wuhan',
  'cn-zhangbei',
  'cn-fujian',
  'cn-edge-1',
  'cn-hangzhou-finance',
  'cn-beijing-finance-1',
  'cn-haidian-cm12-c01',
  'cn-hangzhou-bj-b01',
  'cn-hangzhou-internal-prod-1',
  'cn-hangzhou-internal-test-1',
  'cn-hangzhou-internal-test-2',
  'cn-hangzhou-internal-test-3',
  'cn-hangzhou-test-306',
  'cn-hongkong-finance-pop',
  'cn-qingdao-nebula',
  'cn-shanghai-et15-b01',
  'cn-shanghai-et2-b01',
  'cn-shanghai-inner',
  'cn-shanghai-internal-test-1',
  'cn-shenzhen-inner',
  'cn-shenzhen-st4-d01',
  'cn-shenzhen-su18-b01',
  'cn-yushanfang',
  'cn-zhangbei-na61-b01',
  'cn-zhangjiakou-na62-a01',
  'cn-zhengzhou-nebula-1',
  'rus-west-1-pop',
]);
const SLB_SPECIAL: Record<string, string> = {
  'cn-huhehaote-nebula-1': 'slb-api.cn-qingdao-nebula.aliyuncs.com',
};

const CAS_CENTRAL = new Set([
  'cn-hangzhou',
  'ap-northeast-2-pop',
  'ap-southeast-3',
  'ap-southeast-5',
  'cn-beijing',
  'cn-beijing-finance-1',
  'cn-beijing-finance-pop',
  'cn-beijing-gov-1',
  'cn-beijing-nu16-b01',
  'cn-chengdu',
  'cn-edge-1',
  'cn-fujian',
  'cn-haidian-cm12-c01',
  'cn-hangzhou-bj-b01',
  'cn-hangzhou-finance',
  'cn-hangzhou-internal-prod-1',
  'cn-hangzhou-internal-test-1',
  'cn-hangzhou-internal-test-2',
  'cn-hangzhou-internal-test-3',
  'cn-hangzhou-test-306',
  'cn-hongkong',
  'cn-hongkong-finance-pop',
  'cn-huhehaote',
  'cn-huhehaote-nebula-1',
  'cn-north-2-gov-1',
  'cn-qingdao',
  'cn-qingdao-nebula',
  'cn-shanghai',
  'cn-shanghai-et15-b01',
  'cn-shanghai-et2-b01',
  'cn-shanghai-finance-1',
  'cn-shanghai-inner',
  'cn-shanghai-internal-test-1',
  'cn-shenzhen',
  'cn-shenzhen-finance-1',
  'cn-shenzhen-inner',
  'cn-shenzhen-st4-d01',
  'cn-shenzhen-su18-b01',
  'cn-wuhan',
  'cn-wulanchabu',
  'cn-yushanfang',
  'cn-zhangbei',
  'cn-zhangbei-na61-b01',
  'cn-zhangjiakou',
  'cn-zhangjiakou-na62-a01',
  'cn-zhengzhou-nebula-1',
  'eu-west-1',
  'eu-west-1-oxs',
  'rus-west-1-pop',
  'us-east-1',
  'us-west-1',
]);

const REGION = /^[a-z]{2,4}(-[a-z0-9]+)+$/;

/** `network`: 'public' (default) or e.g. 'vpc', which gives `slb-vpc.<region>.aliyuncs.com`. */
export function endpointFor(product: Product, regionId: string, network = 'public'): string {
  if (!REGION.test(regionId)) throw new Error(`regionId: not a region id: ${JSON.stringify(regionId)}`);
  const suffix = network === 'public' ? '' : `-${network}`;
  // Alibaba Cloud DNS answers every region at one global endpoint.
  if (product === 'alidns') return 'alidns.aliyuncs.com';
  if (product === 'slb') {
    const special = SLB_SPECIAL[regionId];
    if (special && !suffix) return special;
    if (SLB_CENTRAL.has(regionId) && !suffix) return 'slb.aliyuncs.com';
    return `slb${suffix}.${regionId}.aliyuncs.com`;
  }
  if (CAS_CENTRAL.has(regionId) && !suffix) return 'cas.aliyuncs.com';
  return `cas${suffix}.${regionId}.aliyuncs.com`;
}
