// What every function's handler does around its workflow, written once: parse the event (a refused one
// is answered naming the field, and nothing else runs), build the environment for the invocation (notify
// settings it could not satisfy are logged), log as one JSON object per line, and send the workflow's
// notification, logging each channel that failed.

import type { Notification } from '../cloud/notify';
import type { FcContext } from './fc-events';
import { type FunctionEnv, functionEnv } from './function-env';
import { EventError } from './invocation';
import { type LogLevel, logJson } from './log';

/** The answer to an event refused at the edge; nothing was read or changed. */
export interface Refusal {
  ok: false;
  error: string;
}

/**
 * `parse()`'s value, or the refusal when it throws one of `refused` (bad input, its message naming the
 * field); any other error is thrown on.
 */
export function parseOrRefuse<T>(
  parse: () => T,
  refused: abstract new (...args: never[]) => Error = EventError,
): { value: T } | { refusal: Refusal } {
  try {
    return { value: parse() };
  } catch (err) {
    if (err instanceof refused) return { refusal: { ok: false, error: err.message } };
    throw err;
  }
}

/** One invocation of a function: its environment, its log, its notifications. */
export class FunctionRun {
  readonly fx: FunctionEnv;

  constructor(
    /** the function's name, the prefix of every log message: `failover`, `health-audit` */
    readonly name: string,
    private readonly context: Pick<FcContext, 'credentials' | 'logger'>,
  ) {
    this.fx = functionEnv(context);
    for (const problem of this.fx.notifyProblems) this.log('warn', 'notify setting', { problem });
  }

  /** `{ ...fields, level, msg: "<name>: <msg>" }` on one line. */
  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    logJson(this.context.logger, level, `${this.name}: ${msg}`, fields);
  }

  /** Sends what the workflow decided to notify (nothing when undefined); a failed channel is logged. */
  async notify(n: Notification | undefined): Promise<void> {
    if (!n) return;
    for (const o of await this.fx.notifier.send(n))
      if (!o.ok) this.log('warn', 'notify failed', { channel: o.channel, error: o.error });
  }
}
