// Every emulated SLB 2014-05-15 action, by wire name.
import type { ActionTable } from '../handler';
import { certificatesActions } from './certificates';
import { domainExtensionsActions } from './domain-extensions';
import { healthActions } from './health';
import { listenersActions } from './listeners';
import { loadBalancersActions } from './load-balancers';
import { rulesActions } from './rules';
import { tagsActions } from './tags';
import { vserverGroupsActions } from './vserver-groups';

export const SLB_VERSION = '2014-05-15';

export const slbActions: ActionTable = {
  ...loadBalancersActions,
  ...listenersActions,
  ...vserverGroupsActions,
  ...healthActions,
  ...certificatesActions,
  ...domainExtensionsActions,
  ...rulesActions,
  ...tagsActions,
};
