// SLB 2014-05-15 actions: certificates.
import type { ActionTable } from '../handler';

export const certificatesActions: ActionTable = {};
