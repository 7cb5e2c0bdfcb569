// Every emulated CAS 2020-04-07 action, by wire name.
import type { ActionTable } from '../handler';

export const CAS_VERSION = '2020-04-07';

export const casActions: ActionTable = {};
