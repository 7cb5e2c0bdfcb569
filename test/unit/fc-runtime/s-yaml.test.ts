// s.yaml as the local runtime reads it: template + extend merged as `s` does, magic variables resolved,
// fc3 props turned into function specs with FC's defaults, and one error listing every problem.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: s.yaml magic variables are written ${...} on purpose
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deepExtend, readSYaml, SYamlError } from '../../../scripts/fc-runtime/s-yaml';

const root = join(__dirname, '..', '..', '..');
const fixtureDir = join(root, 'test', 'fixtures', 'fc-runtime');
const fixture = readFileSync(join(fixtureDir, 's.yaml'), 'utf8');

function app(text: string, env: Record<string, string> = {}) {
  return readSYaml(text, { baseDir: '/app', env });
}

const ONE = (props: string, extra = '') => `edition: 3.0.0
name: t
${extra}
resources:
  f:
    component: fc3
    props:
      functionName: f
      runtime: nodejs20
      handler: index.handler
      code: ./dist/f
${props}`;

describe('readSYaml: the fixture app', () => {
  const { functions } = readSYaml(fixture, { baseDir: fixtureDir, env: {} });
  const byResource = new Map(functions.map((f) => [f.resource, f]));

  it('reads every fc3 resource with its function name and absolute code directory', () => {
    expect(functions.map((f) => f.resource)).toEqual([
      'echo',
      'esm-echo',
      'slow',
      'flaky',
      'serial',
      'web',
      'ticker',
      'alarms',
      'missing',
    ]);
    expect(byResource.get('echo')).toMatchObject({
      name: 'fixture-echo',
      codeDir: join(fixtureDir, 'bundles', 'echo'),
      handler: 'index.handler',
      runtime: 'nodejs20',
      region: 'cn-shanghai',
      memorySize: 256,
      timeout: 5,
    });
  });

  it('merges the template environment with the resource one (objects merge key by key)', () => {
    expect(byResource.get('echo')?.environmentVariables).toEqual({
      GREETING: 'hello',
      SHARED: 'from-template',
      OWN: 'echo-hello',
      FIXTURE_API_SECRET: 'fixture-secret-value-0123456789',
    });
    expect(byResource.get('slow')?.environmentVariables).toEqual({
      GREETING: 'hello',
      SHARED: 'from-template',
    });
  });

  it('lets resource props override template scalars', () => {
    expect(byResource.get('slow')?.timeout).toBe(1);
    expect(byResource.get('esm-echo')?.handler).toBe('index.main');
  });

  it('reads reserved concurrency and async retries, with the fc3 default of 3 retries', () => {
    expect(byResource.get('serial')?.reservedConcurrency).toBe(1);
    expect(byResource.get('echo')?.reservedConcurrency).toBeUndefined();
    expect(byResource.get('flaky')?.maxAsyncRetryAttempts).toBe(2);
    expect(byResource.get('echo')?.maxAsyncRetryAttempts).toBe(3);
  });

  it('reads timer, http and eventbridge triggers', () => {
    expect(byResource.get('ticker')?.triggers).toEqual([
      {
        type: 'timer',
        name: 'nightly',
        cronExpression: 'CRON_TZ=Asia/Shanghai 0 30 3 * * *',
        enable: true,
        payload: '{"source":"timer"}',
      },
      { type: 'timer', name: 'often', cronExpression: '@every 30s', enable: false },
    ]);
    expect(byResource.get('web')?.triggers).toEqual([
      { type: 'http', name: 'http', methods: ['GET', 'POST'], authType: 'anonymous' },
    ]);
    expect(byResource.get('alarms')?.triggers).toEqual([
      {
        type: 'eventbridge',
        name: 'cloudmonitor',
        enable: true,
        asyncInvocationType: false,
        filterPattern: { source: ['acs.cloudmonitor'] },
      },
    ]);
  });

  it('reads ${env(...)} from the given environment', () => {
    const withEnv = readSYaml(fixture, {
      baseDir: fixtureDir,
      env: { FIXTURE_REGION: 'cn-beijing', FIXTURE_GREETING: 'hi' },
    });
    const echo = withEnv.functions.find((f) => f.resource === 'echo');
    expect(echo?.region).toBe('cn-beijing');
    expect(echo?.environmentVariables.OWN).toBe('echo-hi');
  });
});

describe('readSYaml: the project s.yaml (the file that deploys is the file that runs)', () => {
  const { functions } = readSYaml(readFileSync(join(root, 's.yaml'), 'utf8'), { baseDir: root, env: {} });
  const byResource = new Map(functions.map((f) => [f.resource, f]));

  it('has the four functions with their bundles, timeouts and concurrency', () => {
    expect([...byResource.keys()].sort()).toEqual(['cert-renewal', 'failover', 'health-audit', 'provision']);
    for (const [key, f] of byResource) {
      expect(f.name).toBe(`slb-autopilot-${key}`);
      expect(f.codeDir).toBe(join(root, 'dist', key));
      expect(f.handler).toBe('index.handler');
      expect(f.region).toBe('cn-hangzhou');
    }
    expect(byResource.get('cert-renewal')?.reservedConcurrency).toBe(1);
    expect(byResource.get('failover')?.reservedConcurrency).toBe(1);
    expect(byResource.get('failover')?.maxAsyncRetryAttempts).toBe(2);
  });

  it('gives each function its trigger', () => {
    const types = (k: string) => byResource.get(k)?.triggers.map((t) => t.type);
    expect(types('cert-renewal')).toEqual(['timer']);
    expect(types('health-audit')).toEqual(['timer']);
    expect(types('failover')).toEqual(['eventbridge']);
    expect(types('provision')).toEqual(['http']);
  });
});

describe('readSYaml: magic variables', () => {
  it.each([
    ["${env('X', 'd')}", {}, 'd'],
    ["${env('X', 'd')}", { X: 'set' }, 'set'],
    ['${env("X")}', { X: 'dq' }, 'dq'],
    ["${env('X')}", {}, ''],
    ["${env('X', '')}", {}, ''],
    ['${env.X}', { X: 'dotted' }, 'dotted'],
    ['pre-${vars.v}-post', {}, 'pre-from-vars-post'],
    ["${vars.v}/${env('X', 'y')}", {}, 'from-vars/y'],
  ])('%s with %j -> %s', (expr, env, expected) => {
    const text = ONE(
      `      environmentVariables:\n        V: "${expr.replaceAll('"', '\\"')}"`,
      'vars:\n  v: from-vars',
    );
    expect(app(text, env).functions[0]?.environmentVariables.V).toBe(expected);
  });

  it('keeps the type of a whole-value variable', () => {
    const text = ONE('      timeout: ${vars.t}\n      memorySize: ${vars.m}', 'vars:\n  t: 42\n  m: 1024');
    expect(app(text).functions[0]).toMatchObject({ timeout: 42, memorySize: 1024 });
  });

  it('lets vars refer to the environment and to earlier vars', () => {
    const text = ONE(
      '      environmentVariables:\n        V: ${vars.b}',
      "vars:\n  a: ${env('A', 'x')}\n  b: ${vars.a}-b",
    );
    expect(app(text, { A: 'env' }).functions[0]?.environmentVariables.V).toBe('env-b');
  });

  it('leaves what it cannot resolve as written, with a warning', () => {
    const text = ONE('      description: ${resources.other.output.url}');
    const r = app(text);
    expect(r.warnings).toEqual([
      '${resources.other.output.url}: not supported by the local runtime, left as written',
    ]);
  });
});

describe('readSYaml: extend', () => {
  it('omits the keys named in extend.ignore', () => {
    const text = `edition: 3.0.0
template:
  base:
    runtime: nodejs20
    handler: index.handler
    timeout: 60
    environmentVariables: {A: a}
resources:
  f:
    component: fc3
    extend: {name: base, ignore: [environmentVariables]}
    props: {functionName: f, code: ./f}
`;
    expect(app(text).functions[0]).toMatchObject({ timeout: 60, environmentVariables: {} });
  });

  it('replaces arrays instead of merging them (as s does)', () => {
    expect(deepExtend({}, { a: [1, 2, 3], o: { x: 1, y: 2 } }, { a: [9], o: { y: 3 } })).toEqual({
      a: [9],
      o: { x: 1, y: 3 },
    });
  });
});

describe('readSYaml: defaults and skipped resources', () => {
  it('uses the fc3 defaults: 512 MB, 3 s, 3 async retries, no reserved concurrency', () => {
    expect(app(ONE('')).functions[0]).toMatchObject({
      memorySize: 512,
      timeout: 3,
      maxAsyncRetryAttempts: 3,
      maxAsyncEventAgeInSeconds: 18000,
      triggers: [],
    });
  });

  it('skips resources of other components', () => {
    const text = `${ONE('')}
  domain:
    component: fc3-domain
    props: {}
`;
    expect(app(text).skipped).toEqual(['domain']);
  });
});

describe('readSYaml: bad input', () => {
  it('lists every problem in one error, naming the field', () => {
    const text = `edition: 1.0.0
resources:
  a:
    component: fc3
    props:
      runtime: python3.10
      handler: index
      timeout: 0
      triggers:
        - triggerName: t
          triggerType: timer
          triggerConfig: {enable: true}
  b:
    component: fc3
    extend: {name: nope}
    props: {functionName: b, runtime: nodejs20, handler: index.handler, code: ./b}
`;
    let err: unknown;
    try {
      app(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SYamlError);
    expect((err as SYamlError).problems).toEqual([
      'edition: must be 3.0.0 (Serverless Devs 3, component fc3); got "1.0.0"',
      'resources.a.props.functionName: required',
      'resources.a.props.runtime: python3.10 is not a Node.js runtime; the local runtime runs nodejs* only',
      'resources.a.props.code: required (a local directory, e.g. ./dist/a)',
      'resources.a.props.handler: must be <file>.<export>, e.g. index.handler',
      'resources.a.props.timeout: must be a number in 1-86400 (got 0)',
      'resources.a.props.triggers[0].triggerConfig.cronExpression: required',
      'resources.b.extend.name: no template named "nope" under template:',
    ]);
  });

  it('rejects invalid YAML and duplicate function names', () => {
    expect(() => app('edition: [')).toThrow(/not valid YAML/);
    const dup = `${ONE('')}
  g:
    component: fc3
    props: {functionName: f, runtime: nodejs20, handler: index.handler, code: ./g}
`;
    expect(() => app(dup)).toThrow(/resources.g.props.functionName: f is also used by f/);
  });
});
