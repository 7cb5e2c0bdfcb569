// SLB 2014-05-15 actions: listeners.
import type { ActionTable } from '../handler';

export const listenersActions: ActionTable = {};
