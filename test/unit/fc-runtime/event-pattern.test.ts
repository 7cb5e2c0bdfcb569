// EventBridge filter patterns: which events an EventBridge trigger would deliver.
import { describe, expect, it } from 'vitest';
import { mismatch } from '../../../scripts/fc-runtime/event-pattern';

const EVENT = {
  source: 'acs.cloudmonitor',
  type: 'cms:Alarm:StateChange',
  data: { alertState: 'ALERT', dimensions: ['lb-1', 'lb-2'], regionId: 'cn-hangzhou' },
};

describe('mismatch', () => {
  it.each([
    [{ source: ['acs.cloudmonitor'] }, undefined],
    [{ source: ['acs.oss', 'acs.cloudmonitor'] }, undefined],
    [{ source: ['acs.oss'] }, 'source does not match ["acs.oss"]'],
    [{ type: [{ prefix: 'cms:' }] }, undefined],
    [{ type: [{ suffix: ':StateChange' }] }, undefined],
    [{ type: [{ prefix: 'oss:' }] }, 'type does not match [{"prefix":"oss:"}]'],
    [{ data: { alertState: ['ALERT', 'ALARM'] } }, undefined],
    [{ data: { alertState: [{ 'anything-but': 'OK' }] } }, undefined],
    [
      { data: { alertState: [{ 'anything-but': ['ALERT'] }] } },
      'data.alertState does not match [{"anything-but":["ALERT"]}]',
    ],
    [{ data: { dimensions: ['lb-2'] } }, undefined],
    [{ data: { ruleId: [{ exists: false }] } }, undefined],
    [{ data: { ruleId: [{ exists: true }] } }, 'data.ruleId does not match [{"exists":true}]'],
    [{ subject: ['x'] }, 'subject does not match ["x"]'],
  ])('%j -> %s', (pattern, expected) => {
    expect(mismatch(pattern, EVENT)).toBe(expected);
  });
});
