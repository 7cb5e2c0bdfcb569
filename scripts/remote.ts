// `npm run remote -- <plan|apply|status|rotate|failover> [file] [--url <provision URL>]`: calls a
// deployed (or local) provision function with a signed request. The secret comes from
// SLB_AUTOPILOT_API_SECRET, the URL from --url or SLB_AUTOPILOT_PROVISION_URL; with neither, those of a
// running `npm start` (.local/stack.json). plan/apply send the spec
// file (YAML or JSON by extension); rotate/failover send the optional JSON file as their body.
// Prints the JSON answer; exits 0 on 2xx, 1 otherwise, 2 on usage errors.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { signedHeaders } from '../shared/cloud/request-signing';
import { STACK_FILE, type StackInfo } from './invoke';

export interface RemoteCall {
  url: string;
  secret: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  contentType?: string;
  now?: Date;
}

export async function callProvision(c: RemoteCall): Promise<{ status: number; body: unknown }> {
  const target = new URL(c.path, c.url.endsWith('/') ? c.url : `${c.url}/`);
  const body = c.body ?? '';
  // fetch would label a string body text/plain itself; the signature covers the content type, so it
  // is always set explicitly for a POST.
  const contentType = c.contentType ?? (c.method === 'POST' ? 'application/json' : undefined);
  const res = await fetch(target, {
    method: c.method,
    headers: {
      ...(contentType ? { 'content-type': contentType } : {}),
      ...signedHeaders(
        c.secret,
        {
          method: c.method,
          path: target.pathname,
          query: [...target.searchParams],
          ...(contentType ? { contentType } : {}),
          body,
        },
        c.now ?? new Date(),
      ),
    },
    ...(c.method === 'POST' ? { body } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

function runningStackInfo(): StackInfo | undefined {
  try {
    return JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
}

const ROUTES = {
  plan: { method: 'POST', path: 'plan', spec: true },
  apply: { method: 'POST', path: 'apply', spec: true },
  status: { method: 'GET', path: 'status', spec: false },
  rotate: { method: 'POST', path: 'rotate', spec: false },
  failover: { method: 'POST', path: 'failover', spec: false },
} as const;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' } },
  });
  const [command, file] = positionals;
  const route = ROUTES[command as keyof typeof ROUTES];
  // Against a running `npm start`, its URL and secret come from .local/stack.json.
  const stack = runningStackInfo();
  const url = values.url ?? process.env.SLB_AUTOPILOT_PROVISION_URL ?? stack?.provisionUrl;
  const secret =
    process.env.SLB_AUTOPILOT_API_SECRET ?? (url === stack?.provisionUrl ? stack?.apiSecret : undefined);
  if (!route || (route.spec && !file) || !url || !secret) {
    console.error(
      'usage: SLB_AUTOPILOT_API_SECRET=... npm run remote -- plan|apply <spec> | status | rotate|failover [body.json] --url <provision URL>',
    );
    return 2;
  }
  let body: string | undefined;
  if (file) {
    try {
      body = readFileSync(file, 'utf8');
    } catch (err) {
      console.error(`remote: cannot read ${file}: ${(err as { code?: string }).code ?? String(err)}`);
      return 2;
    }
  }
  const contentType = file ? (/\.json$/i.test(file) ? 'application/json' : 'application/yaml') : undefined;
  const r = await callProvision({
    url,
    secret,
    method: route.method,
    path: route.path,
    ...(body !== undefined ? { body } : {}),
    ...(contentType ? { contentType } : {}),
  });
  console.log(typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2));
  return r.status >= 200 && r.status < 300 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`remote: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
