// Structured logging: every line a function writes is one JSON object (SLS indexes its fields), and a
// value containing a newline stays escaped inside its string, so no input (an alarm's field, a spec
// name, an error message) can start a line of its own and forge a record.

import type { FcLogger } from './fc-events';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Errors become `{name, message}`; bigints strings; anything unserialisable is named, not thrown. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** One line: `{...fields, "level", "msg"}` (level and msg win over fields of the same name). */
export function logLine(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): string {
  try {
    return JSON.stringify({ ...fields, level, msg }, replacer);
  } catch {
    return JSON.stringify({ level, msg, logError: 'fields could not be serialised' });
  }
}

export function logJson(
  logger: FcLogger,
  level: LogLevel,
  msg: string,
  fields: Record<string, unknown> = {},
): void {
  logger[level](logLine(level, msg, fields));
}
