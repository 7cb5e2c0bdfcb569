// FC 3.0 shapes for in-process function tests: an HTTP trigger event as FC builds it, and a context
// whose logger keeps its lines so tests can check what was (and was not) logged.
import { randomUUID } from 'node:crypto';
import type { FcContext, FcHttpEvent } from '../../shared/runtime/fc-events';

export function httpEvent(req: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: string | Buffer;
}): Buffer {
  const binary = Buffer.isBuffer(req.body);
  const event: FcHttpEvent = {
    version: 'v1',
    rawPath: req.path,
    headers: { 'user-agent': 'vitest', ...req.headers },
    queryParameters: req.query ?? {},
    body: binary ? (req.body as Buffer).toString('base64') : ((req.body as string | undefined) ?? ''),
    isBase64Encoded: binary,
    requestContext: {
      accountId: '1234567890123456',
      domainName: 'provision.test.fcapp.run',
      domainPrefix: 'provision',
      http: {
        method: req.method,
        path: req.path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'vitest',
      },
      requestId: randomUUID(),
      time: new Date().toISOString(),
      timeEpoch: String(Date.now()),
    },
  };
  return Buffer.from(JSON.stringify(event));
}

export interface TestContext extends FcContext {
  lines: string[];
}

export function fcContext(name: string, credentials?: FcContext['credentials']): TestContext {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(`${level} ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  return {
    lines,
    requestId: randomUUID(),
    ...(credentials ? { credentials } : {}),
    function: { name, handler: 'index.handler', memory: 256, timeout: 60 },
    region: 'cn-hangzhou',
    accountId: '1234567890123456',
    logger: { debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') },
  };
}
