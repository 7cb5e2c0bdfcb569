import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../../shared/runtime/spec-source';

const mall = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'mall.yaml'), 'utf8');

describe('loadSpec', () => {
  it('prefers the inline environment variable, then the file variable, then the bundled file', () => {
    const reads: string[] = [];
    const readFile = (p: string) => {
      reads.push(p);
      return mall;
    };
    expect(
      loadSpec({
        env: { SLB_AUTOPILOT_SPEC: mall, SLB_AUTOPILOT_SPEC_FILE: '/f' },
        readFile,
        bundledPath: '/b',
      }).region,
    ).toBe('cn-hangzhou');
    expect(reads).toEqual([]);
    loadSpec({ env: { SLB_AUTOPILOT_SPEC_FILE: '/f' }, readFile, bundledPath: '/b' });
    loadSpec({ env: {}, readFile, bundledPath: '/b' });
    expect(reads).toEqual(['/f', '/b']);
  });

  it('parses once per source and content (cold start)', () => {
    const env = { SLB_AUTOPILOT_SPEC: mall };
    const a = loadSpec({ env, readFile: () => '', bundledPath: '' });
    expect(loadSpec({ env, readFile: () => '', bundledPath: '' })).toBe(a);
  });

  it('names the source that failed', () => {
    const missing = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    expect(() =>
      loadSpec({ env: { SLB_AUTOPILOT_SPEC_FILE: '/etc/spec.yaml' }, readFile: missing, bundledPath: '/b' }),
    ).toThrow(/SLB_AUTOPILOT_SPEC_FILE \/etc\/spec.yaml \(ENOENT\)/);
    expect(() =>
      loadSpec({ env: { SLB_AUTOPILOT_SPEC: 'version: 2' }, readFile: missing, bundledPath: '/b' }),
    ).toThrow(/SLB_AUTOPILOT_SPEC is not valid/);
  });
});
