// SLB 2014-05-15 actions: domain extensions.
import type { ActionTable } from '../handler';

export const domainExtensionsActions: ActionTable = {};
