// SLB 2014-05-15 actions: load balancers.
import type { ActionTable } from '../handler';

export const loadBalancersActions: ActionTable = {};
