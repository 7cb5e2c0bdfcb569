// What the failover function accepts: CloudMonitor alarms in their three deliveries, the audit's hand-off
// and manual commands, each normalised to one command; everything else rejected naming the field, without
// echoing a value.
import { describe, expect, it } from 'vitest';
import {
  FailoverEventError,
  type HealthAuditHandOff,
  MAX_FAILOVER_EVENT_BYTES,
  parseFailoverEvent,
  parseFailoverEvents,
} from '../../../shared/runtime/failover-events';

const LB = 'lb-bp1mall7k8s0demo0001';
const SECRET_SIGNATURE = 'c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1sZWFr';

/** CloudMonitor's threshold alert callback, as the docs describe it (form fields, all strings). */
const callback = (over: Record<string, string> = {}): Record<string, string> => ({
  userId: '1234567890123456',
  alertName: 'mall-unhealthy-servers',
  timestamp: '1795953600',
  alertState: 'ALERT',
  dimensions: JSON.stringify([{ userId: '1234567890123456', instanceId: LB, port: '443', vip: '47.1.2.3' }]),
  expression: '[{"expression":"$Average>0","level":4,"times":2}]',
  curValue: '1',
  metricName: 'UnhealthyServerCount',
  metricProject: 'acs_slb_dashboard',
  namespace: 'acs_slb_dashboard',
  ruleId: 'putNewAlarm_user_abc123',
  triggerLevel: 'WARN',
  preTriggerLevel: 'OK',
  regionId: 'cn-hangzhou',
  instanceName: 'mall',
  lastTime: '2 minutes',
  signature: SECRET_SIGNATURE,
  ...over,
});
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** An alert rule target push. */
const ruleTarget = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  ruleId: 'putNewAlarm_user_abc123',
  ruleName: 'mall-healthy-servers',
  curLevel: 'CRITICAL',
  preLevel: 'OK',
  namespace: 'acs_slb_dashboard',
  metricName: 'HeathyServerCount',
  resources: JSON.stringify({ instanceId: LB }),
  escalation: {
    comparisonOperator: 'LessThanThreshold',
    threshold: '1',
    times: 1,
    statistics: 'Average',
    level: 'CRITICAL',
  },
  metricData: { timestamp: 1795953600000, userId: '1234567890123456', instanceId: LB, Average: 0 },
  ...over,
});

const envelope = (data: unknown, over: Record<string, unknown> = {}) => ({
  id: '45ef4dewdwe1-7c35-447a-bd93-fab****',
  source: 'acs.cloudmonitor',
  specversion: '1.0',
  type: 'cms:Alert:Triggered',
  subject: `acs:slb:cn-hangzhou:1234567890123456:loadbalancer/${LB}`,
  time: '2026-11-30T08:00:00Z',
  datacontenttype: 'application/json;charset=utf-8',
  aliyunaccountid: '1234567890123456',
  aliyunregionid: 'cn-hangzhou',
  data,
  ...over,
});

const handOff = (over: Partial<HealthAuditHandOff> = {}): HealthAuditHandOff => ({
  source: 'slb-autopilot.health-audit',
  loadBalancerId: LB,
  vServerGroupId: 'rsp-bp1mall0backends01',
  reason: 'primary 0/1 healthy, standby 1/1 healthy by probe',
  observedAt: '2026-11-30T08:00:05.000Z',
  expected: 'shiftToStandby',
  ...over,
});

describe('parseFailoverEvent: accepted shapes', () => {
  it.each([
    [
      'threshold callback, form-urlencoded body (Buffer, as FC hands it)',
      Buffer.from(form(callback())),
      {
        origin: 'cloudmonitor-callback',
        loadBalancerId: LB,
        listenerPort: 443,
        alarmState: 'alert',
        command: 'auto',
        dedupeKey: `cms:${LB}:443:alert:1795953600:putNewAlarm_user_abc123`,
      },
    ],
    [
      'threshold callback, already parsed',
      callback({ alertState: 'OK' }),
      { origin: 'cloudmonitor-callback', alarmState: 'ok', command: 'auto' },
    ],
    [
      'threshold callback, ALARM (one doc sample)',
      callback({ alertState: 'ALARM' }),
      { alarmState: 'alert' },
    ],
    [
      'threshold callback, INSUFFICIENT_DATA',
      callback({ alertState: 'INSUFFICIENT_DATA' }),
      { alarmState: 'insufficientData', command: 'auto' },
    ],
    [
      'threshold callback, instance-wide metric (no port), minimal fields',
      { alertState: 'ALERT', dimensions: JSON.stringify([{ instanceId: LB }]) },
      { loadBalancerId: LB, dedupeKey: `cms:${LB}:-:alert:-:-` },
    ],
    [
      'threshold callback, dimensions as a single object',
      callback({ dimensions: JSON.stringify({ instanceId: LB, port: '80' }) }),
      { listenerPort: 80 },
    ],
    [
      'alert rule target',
      ruleTarget(),
      {
        origin: 'alert-rule-target',
        loadBalancerId: LB,
        alarmState: 'alert',
        command: 'auto',
        dedupeKey: `cms:${LB}:-:alert:1795953600:putNewAlarm_user_abc123`,
      },
    ],
    [
      'alert rule target, recovered',
      ruleTarget({ curLevel: 'OK', preLevel: 'CRITICAL' }),
      { alarmState: 'ok' },
    ],
    [
      'alert rule target, resources as an object with a port',
      ruleTarget({ resources: { instanceId: LB, port: 443 } }),
      { listenerPort: 443 },
    ],
    [
      'alert rule target, instance only in metricData',
      ruleTarget({ resources: undefined }),
      { loadBalancerId: LB },
    ],
    [
      'EventBridge envelope around a callback',
      envelope(callback()),
      {
        origin: 'eventbridge',
        loadBalancerId: LB,
        listenerPort: 443,
        alarmState: 'alert',
        command: 'auto',
        cloudEvent: {
          id: '45ef4dewdwe1-7c35-447a-bd93-fab****',
          source: 'acs.cloudmonitor',
          type: 'cms:Alert:Triggered',
        },
      },
    ],
    [
      'EventBridge envelope around a rule target',
      envelope(ruleTarget()),
      { origin: 'eventbridge', alarmState: 'alert' },
    ],
    [
      'EventBridge envelope, an unknown type: matched on data, type kept for the log',
      envelope(callback(), { type: 'something:new' }),
      { origin: 'eventbridge', cloudEvent: expect.objectContaining({ type: 'something:new' }) },
    ],
    [
      'EventBridge envelope with data as a form string',
      envelope(form(callback())),
      { origin: 'eventbridge', listenerPort: 443 },
    ],
    [
      'EventBridge envelope with data as a JSON string',
      envelope(JSON.stringify(ruleTarget())),
      { origin: 'eventbridge', loadBalancerId: LB },
    ],
    ['EventBridge batch of one', [envelope(callback())], { origin: 'eventbridge' }],
    [
      'health-audit hand-off',
      handOff(),
      {
        origin: 'health-audit',
        loadBalancerId: LB,
        vServerGroupId: 'rsp-bp1mall0backends01',
        command: 'auto',
        dedupeKey: `audit:${LB}:rsp-bp1mall0backends01:2026-11-30T08:00:05.000Z`,
        detail: 'primary 0/1 healthy, standby 1/1 healthy by probe',
      },
    ],
    [
      'manual command',
      { command: 'toStandby', loadBalancerId: LB },
      { origin: 'manual', command: 'toStandby', dedupeKey: `manual:toStandby:${LB}:-:-` },
    ],
    [
      'manual command as JSON text, narrowed to a group, with a request id',
      JSON.stringify({
        command: 'toPrimary',
        loadBalancerId: LB,
        vServerGroupId: 'rsp-1',
        requestId: 'op-42',
      }),
      {
        origin: 'manual',
        command: 'toPrimary',
        vServerGroupId: 'rsp-1',
        dedupeKey: `manual:toPrimary:${LB}:rsp-1:op-42`,
      },
    ],
    ['manual auto', { command: 'auto', loadBalancerId: LB }, { command: 'auto' }],
  ])('%s', (_name, event, expected) => {
    const cmd = parseFailoverEvent(event);
    expect(cmd).toMatchObject(expected);
    expect(JSON.stringify(cmd)).not.toContain(SECRET_SIGNATURE);
  });

  it('the same alarm keys the same however it arrives, and retries dedupe', () => {
    const viaCallback = parseFailoverEvent(form(callback()));
    const retried = parseFailoverEvent(form(callback()));
    const viaEventBridge = parseFailoverEvent(envelope(callback(), { id: 'another-delivery' }));
    expect(retried.dedupeKey).toBe(viaCallback.dedupeKey);
    expect(viaEventBridge.dedupeKey).toBe(viaCallback.dedupeKey);
    // seconds (callback) and milliseconds (metricData) are the same instant
    const rt = parseFailoverEvent(
      ruleTarget({
        ruleId: 'putNewAlarm_user_abc123',
        resources: JSON.stringify({ instanceId: LB, port: '443' }),
      }),
    );
    expect(rt.dedupeKey).toBe(viaCallback.dedupeKey);
    // the alarm clearing is a different event
    expect(parseFailoverEvent(callback({ alertState: 'OK' })).dedupeKey).not.toBe(viaCallback.dedupeKey);
  });

  it('parseFailoverEvents: an EventBridge batch yields one command per event', () => {
    const cmds = parseFailoverEvents(
      JSON.stringify([envelope(callback()), envelope(ruleTarget({ curLevel: 'OK' }))]),
    );
    expect(cmds.map((c) => c.alarmState)).toEqual(['alert', 'ok']);
    expect(parseFailoverEvents(handOff())).toHaveLength(1);
  });
});

describe('parseFailoverEvent: rejected, naming the field', () => {
  it.each([
    ['not JSON, not a form', 'hello world', 'event: neither JSON nor a form-urlencoded body'],
    ['broken JSON', '{"command": ', 'event: not JSON'],
    ['JSON null', 'null', 'event: must be a JSON object or a form-urlencoded body'],
    ['a number', 42, 'event: must be a JSON object or a form-urlencoded body'],
    ['an unknown object', { hello: 'world' }, /^event: not a failover event/],
    ['an empty batch', [], 'event: an empty batch'],
    ['a batch of two for one', [handOff(), handOff()], 'event: a batch of 2 events where one was expected'],
    [
      'oversize',
      `{"a":"${'x'.repeat(MAX_FAILOVER_EVENT_BYTES)}"}`,
      `event: larger than ${MAX_FAILOVER_EVENT_BYTES} bytes`,
    ],
    // threshold callback
    [
      'callback: bad alertState',
      callback({ alertState: 'FIRING' }),
      'alertState: must be OK, ALERT, ALARM or INSUFFICIENT_DATA',
    ],
    ['callback: dimensions not JSON', callback({ dimensions: '[{instanceId:' }), 'dimensions: not JSON'],
    ['callback: dimensions missing', { alertState: 'ALERT' }, 'dimensions: missing'],
    [
      'callback: no instance in dimensions',
      callback({ dimensions: '[{"userId":"1"}]' }),
      /^dimensions\.instanceId: missing/,
    ],
    [
      'callback: an ECS instance',
      callback({ dimensions: '[{"instanceId":"i-bp1abc"}]' }),
      'dimensions[0].instanceId: must be a load balancer id (lb-…)',
    ],
    [
      'callback: bad port',
      callback({ dimensions: `[{"instanceId":"${LB}","port":"70000"}]` }),
      'dimensions[0].port: must be a port 1-65535',
    ],
    [
      'callback: a dimension not an object',
      callback({ dimensions: '["lb-1"]' }),
      'dimensions[0]: must be an object of dimensions',
    ],
    [
      'callback: two load balancers',
      callback({ dimensions: '[{"instanceId":"lb-a1"},{"instanceId":"lb-b2"}]' }),
      'dimensions: names more than one load balancer',
    ],
    [
      'callback: not an SLB metric',
      callback({ metricProject: 'acs_ecs_dashboard' }),
      'metricProject: not an SLB metric (expected acs_slb_dashboard)',
    ],
    [
      'callback: bad timestamp',
      callback({ timestamp: 'yesterday' }),
      'timestamp: must be an epoch time in digits',
    ],
    // alert rule target
    [
      'rule target: bad level',
      ruleTarget({ curLevel: 'PANIC' }),
      'curLevel: must be OK, INFO, WARN or CRITICAL',
    ],
    ['rule target: resources not JSON', ruleTarget({ resources: '{instanceId' }), 'resources: not JSON'],
    [
      'rule target: resources not an object',
      ruleTarget({ resources: '"lb-1"' }),
      'resources: must be an object with instanceId',
    ],
    [
      'rule target: no instance anywhere',
      ruleTarget({ resources: undefined, metricData: { timestamp: 1 } }),
      /^resources: missing/,
    ],
    ['rule target: bad metricData', ruleTarget({ metricData: 'x' }), /^metricData: /],
    // EventBridge
    ['envelope: no id', envelope(callback(), { id: undefined }), 'id: missing'],
    ['envelope: no data', envelope(undefined), 'data: missing'],
    [
      'envelope: data not an alarm',
      envelope({ foo: 1 }),
      'data: not a CloudMonitor alarm (expected alertState or curLevel)',
    ],
    [
      'envelope: data dimensions not JSON',
      envelope(callback({ dimensions: 'nope' })),
      'data.dimensions: not JSON',
    ],
    ['envelope: data a broken JSON string', envelope('{"alertState":'), 'data: not JSON'],
    [
      'envelope: data a command (not accepted through EventBridge)',
      envelope({ command: 'toStandby', loadBalancerId: LB }),
      /^data: not a CloudMonitor alarm/,
    ],
    // health audit hand-off
    ['hand-off: no reason', handOff({ reason: '' }), 'reason: must not be empty'],
    ['hand-off: bad time', handOff({ observedAt: 'now' }), 'observedAt: must be an ISO 8601 instant'],
    [
      'hand-off: bad group id',
      handOff({ vServerGroupId: 'mall-backends' }),
      'vServerGroupId: must be a VServer group id (rsp-…)',
    ],
    ['hand-off: no load balancer', { ...handOff(), loadBalancerId: undefined }, 'loadBalancerId: missing'],
    // manual
    [
      'manual: unknown command',
      { command: 'panic', loadBalancerId: LB },
      'command: must be one of auto, toStandby, toPrimary',
    ],
    ['manual: no load balancer', { command: 'toStandby' }, 'loadBalancerId: missing'],
    [
      'manual: bad load balancer',
      { command: 'toStandby', loadBalancerId: 'mall' },
      'loadBalancerId: must be a load balancer id (lb-…)',
    ],
    [
      'manual: a typo in a field',
      { command: 'toStandby', loadBalancerId: LB, vServerGroupID: 'rsp-1' },
      'vServerGroupID: is not a known field',
    ],
  ])('%s', (_name, event, message) => {
    let err: unknown;
    try {
      parseFailoverEvent(event);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FailoverEventError);
    const e = err as FailoverEventError;
    if (typeof message === 'string') expect(e.message).toBe(message);
    else expect(e.message).toMatch(message);
    expect(e.message).toBe(`${e.field}: ${e.problem}`);
    expect(e.message).not.toContain(SECRET_SIGNATURE);
  });

  it('a batch member names its index', () => {
    expect(() =>
      parseFailoverEvents([envelope(callback()), envelope(callback({ alertState: 'X' }))]),
    ).toThrow('[1].data.alertState: must be OK, ALERT, ALARM or INSUFFICIENT_DATA');
    expect(() => parseFailoverEvents([handOff(), 'x'])).toThrow(
      '[1]: must be a JSON object or a form-urlencoded body',
    );
  });

  it('never echoes values, secrets included', () => {
    const secretish = {
      alertState: SECRET_SIGNATURE,
      dimensions: SECRET_SIGNATURE,
      signature: SECRET_SIGNATURE,
    };
    for (const event of [
      secretish,
      envelope(secretish),
      form(secretish),
      { command: SECRET_SIGNATURE, loadBalancerId: SECRET_SIGNATURE },
    ]) {
      expect(() => parseFailoverEvent(event)).toThrow(FailoverEventError);
      try {
        parseFailoverEvent(event);
      } catch (e) {
        expect(String((e as Error).message)).not.toContain(SECRET_SIGNATURE);
        expect((e as Error).cause).toBeUndefined();
      }
    }
  });
});

describe('examples/cloudmonitor-alarm.json', () => {
  it('is an alarm the failover function accepts, for the mall', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const text = readFileSync(
      join(__dirname, '..', '..', '..', 'examples', 'cloudmonitor-alarm.json'),
      'utf8',
    );
    expect(parseFailoverEvent(text)).toMatchObject({
      origin: 'eventbridge',
      loadBalancerId: 'lb-bp1mall7k8s0demo0001',
      listenerPort: 443,
      alarmState: 'alert',
      command: 'auto',
    });
  });
});
