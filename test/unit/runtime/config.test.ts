// The configuration module: every variable typed and range-checked once, bad values refused by name
// before any cloud call, secrets never echoed, and the README's reference listing exactly these names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as certRenewal } from '../../../functions/cert-renewal/index';
import { handler as failover } from '../../../functions/failover/index';
import { CONFIG_VARIABLES, ConfigError, loadConfig, parseConfig } from '../../../shared/runtime/config';
import { fcContext } from '../../support/fc';
import { startTestCloud, type TestCloud } from '../../support/local-cloud';

describe('parseConfig', () => {
  it('gives the documented defaults when nothing is set, and treats empty as unset', () => {
    const c = parseConfig({ SLB_AUTOPILOT_VERIFY_ATTEMPTS: '', SLB_AUTOPILOT_DRIFT_EVERY_MS: '  ' });
    expect(c.SLB_AUTOPILOT_VERIFY_ATTEMPTS).toBe(5);
    expect(c.SLB_AUTOPILOT_VERIFY_DELAY_MS).toBe(2000);
    expect(c.SLB_AUTOPILOT_DRIFT_EVERY_MS).toBe(900_000);
    expect(c.SLB_AUTOPILOT_FAILOVER_FUNCTION).toBe('slb-autopilot-failover');
    expect(c.SLB_AUTOPILOT_LOCAL_CLOUD).toBeUndefined();
  });

  it('parses integers and URLs', () => {
    const c = parseConfig({
      SLB_AUTOPILOT_VERIFY_ATTEMPTS: '3',
      SLB_AUTOPILOT_VERIFY_DELAY_MS: '0',
      SLB_AUTOPILOT_LOCAL_CLOUD: 'http://127.0.0.1:9',
    });
    expect(c.SLB_AUTOPILOT_VERIFY_ATTEMPTS).toBe(3);
    expect(c.SLB_AUTOPILOT_VERIFY_DELAY_MS).toBe(0);
    expect(c.SLB_AUTOPILOT_LOCAL_CLOUD).toBe('http://127.0.0.1:9');
  });

  it.each([
    ['SLB_AUTOPILOT_VERIFY_ATTEMPTS', 'abc', /must be an integer/],
    ['SLB_AUTOPILOT_VERIFY_ATTEMPTS', '2.5', /must be an integer/],
    ['SLB_AUTOPILOT_VERIFY_ATTEMPTS', '0', /must be 1-30/],
    ['SLB_AUTOPILOT_VERIFY_DELAY_MS', '-1', /must be 0-60000/],
    ['SLB_AUTOPILOT_DRIFT_EVERY_MS', '5', /must be 60000-86400000/],
    ['SLB_AUTOPILOT_LOCAL_CLOUD', 'ftp://x', /http/],
    ['SLB_AUTOPILOT_LOCAL_CLOUD', 'not a url', /http/],
    ['SLB_AUTOPILOT_FAILOVER_FUNCTION', 'bad name!', /function name/],
  ])('%s=%s is refused by name', (variable, value, message) => {
    const err = (() => {
      try {
        parseConfig({ [variable]: value });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([{ variable, message: expect.stringMatching(message) }]);
    expect((err as Error).message).toContain(variable);
  });

  it('lists every problem in one error', () => {
    expect(() =>
      parseConfig({ SLB_AUTOPILOT_VERIFY_ATTEMPTS: 'x', SLB_AUTOPILOT_VERIFY_DELAY_MS: 'y' }),
    ).toThrow(/SLB_AUTOPILOT_VERIFY_ATTEMPTS: .*; SLB_AUTOPILOT_VERIFY_DELAY_MS: /);
  });

  it('never echoes a secret variable, but shows other bad values', () => {
    const secrets = Object.entries(CONFIG_VARIABLES).filter(([, v]) => 'secret' in v && v.secret);
    expect(secrets.map(([n]) => n)).toContain('SLB_AUTOPILOT_API_SECRET');
    try {
      parseConfig({ SLB_AUTOPILOT_VERIFY_ATTEMPTS: 'abc' });
    } catch (e) {
      expect((e as Error).message).toContain('"abc"');
    }
  });

  it('is parsed once for the same values', () => {
    const env = { SLB_AUTOPILOT_VERIFY_ATTEMPTS: '4' };
    expect(loadConfig(env)).toBe(loadConfig({ ...env }));
    expect(loadConfig({ SLB_AUTOPILOT_VERIFY_ATTEMPTS: '6' }).SLB_AUTOPILOT_VERIFY_ATTEMPTS).toBe(6);
  });

  it('the README configuration reference names every variable', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration reference'));
    for (const name of Object.keys(CONFIG_VARIABLES)) expect(section, name).toContain(`\`${name}\``);
  });
});

describe('a bad variable stops a function before any cloud call', () => {
  const saved = { ...process.env };
  let cloud: TestCloud;
  beforeEach(async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
    process.env.SLB_AUTOPILOT_SPEC = readFileSync(
      join(__dirname, '..', '..', '..', 'examples', 'mall.yaml'),
      'utf8',
    );
  });
  afterEach(async () => {
    process.env = { ...saved };
    await cloud.close();
  });
  const calls = () => Object.values(cloud.calls().calls).reduce((n, k) => n + k, 0);

  it('cert-renewal with SLB_AUTOPILOT_VERIFY_ATTEMPTS=abc', async () => {
    process.env.SLB_AUTOPILOT_VERIFY_ATTEMPTS = 'abc';
    await expect(certRenewal(Buffer.from('{"source":"timer"}'), fcContext('cert-renewal'))).rejects.toThrow(
      /SLB_AUTOPILOT_VERIFY_ATTEMPTS: must be an integer/,
    );
    expect(calls()).toBe(0);
  });

  it('failover with a malformed SLB_AUTOPILOT_DRIFT_EVERY_MS', async () => {
    process.env.SLB_AUTOPILOT_DRIFT_EVERY_MS = 'soon';
    await expect(
      failover(
        Buffer.from(JSON.stringify({ command: 'auto', loadBalancerId: 'lb-x' })),
        fcContext('failover'),
      ),
    ).rejects.toThrow(/SLB_AUTOPILOT_DRIFT_EVERY_MS/);
    expect(calls()).toBe(0);
  });
});
