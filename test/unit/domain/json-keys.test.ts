// Duplicate JSON keys are found with the path of the repeated key, however they are spelled.
import { describe, expect, it } from 'vitest';
import { findDuplicateJsonKey } from '../../../shared/domain/json-keys';
import { parseSpec, SpecError } from '../../../shared/domain/spec';

describe('duplicate JSON keys', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"command":"toPrimary","loadBalancerId":"lb-1","command":"toStandby"}', 'command'],
    ['{"a":{"b":[{"c":1},{"c":1,"d":2,"\\u0064":3}]}}', 'a.b[1].d'],
    ['[{"x":1},{"y":1,"y":1}]', '[1].y'],
    ['{"a":{"x":1},"b":{"x":1}}', undefined],
    ['{"a":"a","b":["a","a"]}', undefined],
    ['not json', undefined],
  ])('%s -> %s', (text, path) => {
    expect(findDuplicateJsonKey(text)).toBe(path);
  });

  it('a JSON spec with a repeated key is refused naming the key path; YAML already was', () => {
    const json = '{"version":1,"region":"cn-hangzhou","loadBalancers":[{"name":"a","id":"lb-1","name":"b"}]}';
    const err = (() => {
      try {
        parseSpec(json, { format: 'json' });
      } catch (e) {
        return e as SpecError;
      }
    })();
    expect(err).toBeInstanceOf(SpecError);
    expect(err?.issues).toEqual([
      { path: 'loadBalancers[0].name', message: 'is a duplicate key (each key once)' },
    ]);
    expect(() => parseSpec('version: 1\nversion: 1\n')).toThrow(/unique/);
  });
});
