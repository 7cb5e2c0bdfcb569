import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { chunk } from '../../../shared/domain/batching';
import { fieldIssues, firstIssueText, issuePath } from '../../../shared/domain/issues';
import { backendKey, normalizeFingerprint, sameFingerprint } from '../../../shared/domain/keys';
import { namedConstants } from '../../../shared/domain/names';

describe('backendKey', () => {
  it.each([
    [{ serverId: 'i-1', port: 80 }, 'i-1:80'],
    [{ serverId: '10.0.0.1', port: 30080 }, '10.0.0.1:30080'],
  ])('%o -> %s', (b, key) => expect(backendKey(b)).toBe(key));
});

describe('fingerprints', () => {
  it.each([
    ['AB:CD:EF', 'abcdef'],
    ['ab cd ef', 'abcdef'],
    ['ABCDEF', 'abcdef'],
  ])('%s normalizes to %s', (fp, want) => expect(normalizeFingerprint(fp)).toBe(want));

  it.each([
    ['AB:CD', 'abcd', true],
    ['ab:cd', 'ab:ce', false],
    ['', '', false],
    [undefined, 'abcd', false],
    ['::', '::', false],
  ])('same(%s, %s) is %s', (a, b, want) => expect(sameFingerprint(a, b)).toBe(want));
});

describe('chunk', () => {
  it.each([
    [[1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]],
    [[1, 2], 20, [[1, 2]]],
    [[], 20, []],
  ])('%o by %i', (items, size, want) => expect(chunk(items, size)).toEqual(want));

  it.each([0, -1, 1.5])('refuses size %s', (size) => expect(() => chunk([1], size)).toThrow(RangeError));
});

describe('issue formatting', () => {
  it('writes indexes in brackets and keys with dots, under a prefix', () => {
    expect(issuePath(['loadBalancers', 0, 'listeners', 1, 'port'])).toBe(
      'loadBalancers[0].listeners[1].port',
    );
    expect(issuePath(['ids', 2], 'event')).toBe('event.ids[2]');
    expect(issuePath([], 'body')).toBe('body');
  });

  it('cuts an input key to 40 characters', () => {
    expect(issuePath(['x'.repeat(1000)], 'body')).toBe(`body.${'x'.repeat(40)}`);
  });

  it('names an unknown key itself, and gives the first issue as one line', () => {
    const r = z.strictObject({ a: z.number() }).safeParse({ a: 'x', secretKey: 'v' });
    expect(r.success).toBe(false);
    if (r.success) return;
    const issues = fieldIssues(r.error.issues, 'body');
    expect(issues).toContainEqual({ path: 'body.secretKey', message: 'is not a known field' });
    expect(issues.map((i) => i.path)).toContain('body.a');
    expect(firstIssueText(r.error.issues, 'body')).toMatch(/^body\.(a|secretKey): /);
    expect(JSON.stringify(issues)).not.toContain('"v"');
  });
});

describe('namedConstants', () => {
  it('maps each name to itself, frozen', () => {
    const c = namedConstants('noZone', 'ca');
    expect(c).toEqual({ noZone: 'noZone', ca: 'ca' });
    expect(Object.isFrozen(c)).toBe(true);
  });
});
