// SLB 2014-05-15 actions: tags.
import type { ActionTable } from '../handler';

export const tagsActions: ActionTable = {};
