// The local stack's admin routes (`/_emulator/*` of the local cloud, `/_runtime/*` of the local FC
// runtime) take no signature: they listen on 127.0.0.1 only. A web page open in the developer's browser
// can still reach 127.0.0.1, by a cross-origin request or by DNS rebinding (its own name resolving to
// 127.0.0.1). So an admin request is refused (403) unless its Host is a loopback name, any Origin is
// that same loopback origin, and the browser does not flag it cross-site; a POST must say
// `content-type: application/json`, which a page cannot send cross-origin without a CORS preflight
// (which these routes never grant): 415 otherwise.

import type { IncomingMessage } from 'node:http';

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

export interface AdminRefusal {
  status: 403 | 415;
  message: string;
}

export function adminRequestProblem(req: IncomingMessage): AdminRefusal | undefined {
  const host = req.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host))
    return {
      status: 403,
      message: 'host: admin routes answer only to a loopback Host (127.0.0.1, localhost, [::1])',
    };
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host.toLowerCase()}`)
    return { status: 403, message: 'origin: cross-origin requests to admin routes are refused' };
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return { status: 403, message: 'sec-fetch-site: cross-site requests to admin routes are refused' };
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json')
      return { status: 415, message: 'content-type: admin POSTs must be application/json' };
  }
  return undefined;
}
