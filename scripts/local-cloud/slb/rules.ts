// SLB 2014-05-15 actions: rules.
import type { ActionTable } from '../handler';

export const rulesActions: ActionTable = {};
