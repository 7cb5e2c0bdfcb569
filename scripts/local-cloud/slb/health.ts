// SLB 2014-05-15 actions: health.
import type { ActionTable } from '../handler';

export const healthActions: ActionTable = {};
