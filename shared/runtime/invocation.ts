// What a timer- or manually-invoked function was asked to do: the FC timer event (its `payload` is the
// trigger's configured string, JSON here), or a JSON command sent directly (`npm run invoke`, the
// provisioning API, an async hand-off). Anything else is refused at the edge with the field named.

import type { z } from 'zod';
import { fieldIssues, firstIssueText } from '../domain/issues';
import { InputError } from '../errors';
import { eventText, fcTimerEventSchema } from './fc-events';

/** A malformed event; `field` is where in it. */
export class EventError extends InputError {
  override name = 'EventError';
}

export interface Invocation<T> {
  origin: 'timer' | 'direct';
  /** the timer's name, for a timer event */
  trigger?: string;
  command: T;
}

/** Parses the event into `schema` (the command), accepting it directly or as a timer payload. */
export function parseInvocation<S extends z.ZodType>(event: unknown, schema: S): Invocation<z.infer<S>> {
  const text = eventText(event).trim();
  let raw: unknown = {};
  if (text !== '') {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new EventError('event: not JSON');
    }
  }
  const timer = fcTimerEventSchema.safeParse(raw);
  let origin: Invocation<unknown>['origin'] = 'direct';
  let trigger: string | undefined;
  if (timer.success && typeof raw === 'object' && raw !== null && 'triggerTime' in raw) {
    origin = 'timer';
    trigger = timer.data.triggerName;
    const payload = timer.data.payload?.trim() ?? '';
    try {
      raw = payload === '' ? {} : JSON.parse(payload);
    } catch {
      throw new EventError('event.payload: the timer payload is not JSON');
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const prefix = origin === 'timer' ? 'event.payload' : 'event';
    const issues = fieldIssues(parsed.error.issues, prefix);
    throw new EventError(firstIssueText(parsed.error.issues, prefix), { field: issues[0]?.path ?? prefix });
  }
  return { origin, ...(trigger ? { trigger } : {}), command: parsed.data };
}
