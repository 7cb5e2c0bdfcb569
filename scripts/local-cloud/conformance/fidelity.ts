// The local cloud's use of the official API descriptions. Before a handler runs: a parameter the
// official rules require is answered with MissingParameter, as the real service does. After it ran:
// anything the official description does not allow (a parameter the action does not take, a value
// that should have been refused, a response field or type the official model lacks) becomes a
// fidelity warning, listed by `GET /_emulator/calls`; the test suites fail on any.

import { missingParameter } from '../errors';
import { actionModel, apiModel } from './model';
import { checkRequest, type RequestFinding } from './request';
import { checkResponse, checkShape, ERROR_BODY, type ResponseFinding } from './response';
import type { WireParams } from './rules';

export interface FidelityWarning {
  action: string;
  /** `request`: what a client sent; `response`: what the local cloud answered */
  side: 'request' | 'response';
  /** the parameter or response path */
  field: string;
  message: string;
}

/** One RPC exchange as it crossed the wire, with what the checks found (kept when recordWire is on). */
export interface WireExchange {
  version: string;
  action: string;
  params: Record<string, string>;
  httpStatus: number;
  /** the error code of a failed call */
  code?: string;
  body: Record<string, unknown>;
  requestFindings: RequestFinding[];
  responseFindings: ResponseFinding[];
}

/** The request's findings against the official data; empty for an action or version without a model. */
export function checkOfficialRequest(version: string, action: string, params: WireParams): RequestFinding[] {
  const api = apiModel(version);
  const model = api?.actions[action];
  return api && model ? checkRequest(api, model, action, params) : [];
}

/** Throws MissingParameter for the first parameter the official rules require and the request lacks. */
export function assertOfficialRequirements(findings: readonly RequestFinding[]): void {
  // Only whole parameters: a field missing inside a JSON parameter (BackendServers[0].ServerId) is the
  // handler's to refuse, in the codes the service uses for malformed JSON entries.
  const missing = findings.find((f) => f.missing && /^[\w.]+$/.test(f.param));
  if (missing) throw missingParameter(missing.param);
}

/** Findings in an answer: a success against the action's response shape, an error against the error body. */
export function checkOfficialResponse(
  version: string,
  action: string | undefined,
  httpStatus: number,
  body: unknown,
): ResponseFinding[] {
  if (httpStatus >= 400) return checkShape(ERROR_BODY, body);
  const schema = action ? actionModel(version, action)?.response : undefined;
  return schema ? checkResponse(schema, action as string, body) : [];
}

/**
 * What to warn about: after a success every request finding (the local cloud accepted what the
 * official rules refuse); after an error only undocumented parameters (refusing a bad value is right).
 */
export function fidelityWarnings(
  action: string,
  succeeded: boolean,
  request: readonly RequestFinding[],
  response: readonly ResponseFinding[],
): FidelityWarning[] {
  return [
    ...request
      .filter((f) => succeeded || f.kind === 'undocumented')
      .map((f) => ({ action, side: 'request' as const, field: f.param, message: f.message })),
    ...response.map((f) => ({ action, side: 'response' as const, field: f.path, message: f.message })),
  ];
}
