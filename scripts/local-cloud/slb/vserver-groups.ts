// SLB 2014-05-15 actions: vserver groups.
import type { ActionTable } from '../handler';

export const vserverGroupsActions: ActionTable = {};
