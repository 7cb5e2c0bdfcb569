// `npm run remote -- <plan|apply|status|rotate|failover> [file] [--url <provision URL>]`: calls a
// deployed (or local) provision function with a signed request. The secret comes from
// SLB_AUTOPILOT_API_SECRET, the URL from --url or SLB_AUTOPILOT_PROVISION_URL; with neither, those of a
// running `npm start` (.local/stack.json). plan/apply send the spec
// file (YAML or JSON by extension); rotate/failover send the optional JSON file as their body.
// Prints the target first, then the answer (`status` as readable text; the others as JSON); exits 0 on
// 2xx, 1 otherwise, 2 on usage errors.

import { signedHeaders } from '../shared/cloud/request-signing';
import { parseCommandLine, readInputFile, readStackFile, runMain, UsageError } from './cli';
import { renderStatus } from './status-text';

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

const ROUTES = {
  plan: { method: 'POST', path: 'plan', spec: true },
  apply: { method: 'POST', path: 'apply', spec: true },
  status: { method: 'GET', path: 'status', spec: false },
  rotate: { method: 'POST', path: 'rotate', spec: false },
  failover: { method: 'POST', path: 'failover', spec: false },
} as const;

export const USAGE = [
  'usage: npm run remote -- <command> [file] [--url <provision URL>] [--json]',
  '  plan <spec>          what applying the spec would change',
  '  apply <spec>         apply it',
  '  status               the managed load balancers: certificates, weights, health, active pool, failback',
  '  rotate [body.json]   certificate renewal now ({"dryRun": true} to see what it would do)',
  '  failover [body.json] {"command": "toStandby"|"toPrimary"|"auto", "loadBalancerId": ...}',
  'The URL and secret: --url or SLB_AUTOPILOT_PROVISION_URL, and SLB_AUTOPILOT_API_SECRET;',
  'with neither, those of a running `npm start` (.local/stack.json).',
].join('\n');

async function main(): Promise<number> {
  const { positionals, values } = parseCommandLine(process.argv.slice(2), {
    url: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, file, extra] = positionals;
  if (command === undefined) throw new UsageError('a command is needed');
  const route = ROUTES[command as keyof typeof ROUTES];
  if (!route) throw new UsageError(`unknown command ${command}`);
  if (route.spec && !file) throw new UsageError(`${command}: which spec file?`);
  if (command === 'status' && file) throw new UsageError('status takes no file');
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  // Against a running `npm start`, its URL and secret come from .local/stack.json.
  const stack = readStackFile();
  const fromFlag = values.url ?? process.env.SLB_AUTOPILOT_PROVISION_URL;
  const url = fromFlag ?? stack?.provisionUrl;
  if (!url)
    throw new UsageError(
      'no provision URL: pass --url, set SLB_AUTOPILOT_PROVISION_URL, or run `npm start` in another terminal',
      { showUsage: false },
    );
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new UsageError(
      `${values.url ? '--url' : 'SLB_AUTOPILOT_PROVISION_URL'}: not an http(s) URL: ${url}`,
      {
        showUsage: false,
      },
    );
  const secret =
    process.env.SLB_AUTOPILOT_API_SECRET ?? (url === stack?.provisionUrl ? stack?.apiSecret : undefined);
  if (!secret)
    throw new UsageError('SLB_AUTOPILOT_API_SECRET: the provisioning API secret is needed for this URL', {
      showUsage: false,
    });
  const body = file ? readInputFile(file, route.spec ? 'spec file' : 'body file') : undefined;
  console.error(
    `target: provision at ${url} (${fromFlag ? (values.url ? '--url' : 'SLB_AUTOPILOT_PROVISION_URL') : '.local/stack.json (npm start)'})`,
  );
  const contentType = file ? (/\.json$/i.test(file) ? 'application/json' : 'application/yaml') : undefined;
  const r = await callProvision({
    url,
    secret,
    method: route.method,
    path: route.path,
    ...(body !== undefined ? { body } : {}),
    ...(contentType ? { contentType } : {}),
  });
  const ok = r.status >= 200 && r.status < 300;
  if (command === 'status' && ok && !values.json) console.log(renderStatus(r.body, new Date()));
  else console.log(typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2));
  return ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) runMain('remote', USAGE, main);
