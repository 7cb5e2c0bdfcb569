// What an emulated API action is: a function of the request and the cloud's state.
// A handler validates everything first, then mutates `ctx.state`, and returns the response body
// without `RequestId` (the server adds it). It throws ApiError for every documented failure.

import type { Params } from './params';
import type { CloudState } from './state';

export interface ActionContext {
  readonly params: Params;
  readonly state: CloudState;
  /** the request's `RegionId` (falls back to the scenario's default region) */
  readonly regionId: string;
  /** the emulator's clock; handlers never read Date.now() themselves */
  readonly now: Date;
  /** fresh unique id with a prefix, e.g. newId('lb-') */
  newId(prefix: string): string;
  /** the per-call limit on BackendServers entries (20 by default, configurable) */
  readonly limits: EmulatorLimits;
  /** fault injection: how long a listener stays `configuring` after a change (0 = not at all) */
  readonly configuringMs: number;
}

export interface EmulatorLimits {
  backendServersPerCall: number;
  domainExtensionsPerListener: number;
  serverCertificatesPerRegion: number;
  rulesPerCall: number;
}

export const DEFAULT_LIMITS: EmulatorLimits = {
  backendServersPerCall: 20,
  domainExtensionsPerListener: 3,
  serverCertificatesPerRegion: 100,
  rulesPerCall: 10,
};

export type ActionHandler = (ctx: ActionContext) => Record<string, unknown>;

/** Whether the action changes state: drives per-action write quotas, busy faults and persistence. */
export interface ActionDef {
  handler: ActionHandler;
  write: boolean;
}

export type ActionTable = Record<string, ActionDef>;

export const read = (handler: ActionHandler): ActionDef => ({ handler, write: false });
export const write = (handler: ActionHandler): ActionDef => ({ handler, write: true });
