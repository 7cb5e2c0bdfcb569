// The error family. Every failure the project raises is an `AutopilotError`: it keeps its `cause`, says
// which family it belongs to (`kind`), and carries what the HTTP edge and the reports need: the status to
// answer with, the field path of bad input, the cloud action that failed. Reports carry `errorReport(err)`
// (plain data, the cause chain included), never a bare message string. Messages hold no secrets: a
// request's parameters never go into one (see shared/cloud/errors.ts for the one place that could).
//
// No I/O and no imports: the domain, the cloud layer, the workflows and the functions all use it.

export type ErrorKind =
  /** a cloud API call failed (SLB, CAS, Alidns, FC, an ACME CA) */
  | 'cloud'
  /** the spec (or a request's body) is not valid */
  | 'spec'
  /** a certificate source could not give a usable certificate */
  | 'certificateSource'
  /** a check after a write said no, or did not answer in time */
  | 'verification'
  /** a guard refused: ownership, deployment limits, another writer's lease, a replay */
  | 'guardRefused'
  /** a malformed event, request or environment variable */
  | 'input'
  /** a step of a plan failed; its cause says why */
  | 'step';

export interface ErrorDetails {
  cause?: unknown;
  /** where in the input, e.g. `loadBalancers[0].listeners[1].certificate` */
  field?: string;
  /** the cloud action or plan action that failed, e.g. `SetVServerGroupAttribute` */
  action?: string;
  /** a machine-readable code, e.g. the API's `Code` or `LeaseHeld` */
  code?: string;
  /** the HTTP status the edge answers with (each family has its default) */
  status?: number;
  /**
   * The cause may hold request data (an SDK's error can quote the string it signed, every parameter
   * included): kept on the error for the code that handles it, never copied into a report.
   */
  privateCause?: boolean;
}

const DEFAULT_STATUS: Record<ErrorKind, number> = {
  cloud: 502,
  spec: 400,
  certificateSource: 400,
  verification: 502,
  guardRefused: 403,
  input: 400,
  step: 500,
};

/** The family's base. Each class names itself (`name`): bundles are minified, so class names are not kept. */
export abstract class AutopilotError extends Error {
  override name = 'AutopilotError';
  abstract readonly kind: ErrorKind;
  readonly field: string | undefined;
  readonly action: string | undefined;
  readonly code: string | undefined;
  private readonly explicitStatus: number | undefined;
  /** see ErrorDetails.privateCause */
  readonly privateCause: boolean;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? {} : { cause: details.cause });
    this.field = details.field;
    this.action = details.action;
    this.code = details.code;
    this.explicitStatus = details.status;
    this.privateCause = details.privateCause ?? false;
  }

  /** what the HTTP edge answers with */
  get status(): number {
    return this.explicitStatus ?? DEFAULT_STATUS[this.kind];
  }
}

/** A family's root class: its kind, and the name it goes by in logs and reports. */
function family<K extends ErrorKind>(kind: K, errorName: string) {
  return class extends AutopilotError {
    override name = errorName;
    readonly kind = kind;
  };
}

/** The spec, or a request's body, is not valid. */
export class SpecInputError extends family('spec', 'SpecInputError') {}
/** A certificate source could not give a usable certificate. */
export class CertificateSourceFailure extends family('certificateSource', 'CertificateSourceFailure') {}
/** A check after a write said no, or did not answer in time. */
export class VerificationError extends family('verification', 'VerificationError') {}
/** A guard said no: nothing was written. 403 for limits and ownership, 409 for another writer. */
export class GuardRefusedError extends family('guardRefused', 'GuardRefusedError') {}
/** A malformed event, request or environment variable. */
export class InputError extends family('input', 'InputError') {}

/** A failure as plain data for a report: the family, what the edge needs, and each cause down the chain. */
export interface ErrorReport {
  kind?: ErrorKind;
  name: string;
  message: string;
  status?: number;
  field?: string;
  action?: string;
  code?: string;
  /** the phase of a paired step (bind, verify, rollback, ...) */
  phase?: string;
  cause?: ErrorReport;
}

const MAX_CAUSE_DEPTH = 5;

export function errorReport(err: unknown, depth = 0): ErrorReport {
  if (!(err instanceof Error)) return { name: typeof err, message: String(err) };
  const e = err as Error & { code?: unknown; phase?: unknown; action?: unknown; field?: unknown };
  const out: ErrorReport = { name: e.name, message: e.message };
  if (err instanceof AutopilotError) {
    out.kind = err.kind;
    out.status = err.status;
  }
  if (typeof e.field === 'string') out.field = e.field;
  if (typeof e.action === 'string') out.action = e.action;
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.phase === 'string') out.phase = e.phase;
  const withheld = err instanceof AutopilotError && err.privateCause;
  if (e.cause !== undefined && !withheld && depth < MAX_CAUSE_DEPTH)
    out.cause = errorReport(e.cause, depth + 1);
  return out;
}

/** What was thrown, as text for people: an error's message, anything else as a string. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first error down a cause chain (the error itself first) that is of the given class, if any. */
export function findCause<T extends Error>(
  err: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth <= MAX_CAUSE_DEPTH; depth++) {
    if (e instanceof type) return e;
    e = e.cause;
  }
  return undefined;
}
