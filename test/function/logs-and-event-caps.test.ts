// Log lines are one JSON object each, whatever an event carries (a newline in a field cannot start a
// record of its own); a failover invocation handles at most 50 distinct events, duplicates dropped
// first, and says how many it refused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as failover } from '../../functions/failover/index';
import { handler as provision } from '../../functions/provision/index';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { MAX_EVENTS_PER_INVOCATION } from '../../shared/runtime/failover-events';
import { logLine } from '../../shared/runtime/log';
import { fcContext, httpEvent } from '../support/fc';
import { startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const alarmEvent = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'examples', 'cloudmonitor-alarm.json'), 'utf8'),
) as { source: string; id: string; data: { timestamp: string; alertState: string } };
const FORGED = '\n{"level":"error","msg":"forged record"}\n';

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
});
let cloud: TestCloud;
beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
  process.env.SLB_AUTOPILOT_SPEC = mallYaml;
});
afterEach(() => cloud.close());

/** Each line the function logged, as written: `LEVEL <message>`; the message must be one JSON object. */
function records(lines: string[]): Record<string, unknown>[] {
  return lines.map((line) => {
    expect(line).not.toMatch(/[\n\r]/);
    const message = line.slice(line.indexOf(' ') + 1);
    const parsed = JSON.parse(message) as unknown;
    expect(parsed).toBeTypeOf('object');
    return parsed as Record<string, unknown>;
  });
}

describe('structured logs', () => {
  it('logLine keeps a newline inside its field', () => {
    const line = logLine('info', 'x', { source: FORGED });
    expect(line.split('\n')).toHaveLength(1);
    expect(JSON.parse(line)).toEqual({ source: FORGED, level: 'info', msg: 'x' });
    expect(JSON.parse(logLine('warn', 'y', { level: 'spoofed', err: new Error('boom') }))).toEqual({
      level: 'warn',
      msg: 'y',
      err: { name: 'Error', message: 'boom' },
    });
  });

  it('failover: an event whose source carries a forged record logs only JSON lines, the field intact', async () => {
    const context = fcContext('failover');
    await failover(
      Buffer.from(JSON.stringify({ ...alarmEvent, source: `acs.cloudmonitor${FORGED}` })),
      context,
    );
    const logged = records(context.lines);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.some((r) => r.msg === 'forged record')).toBe(false);
    expect(logged.find((r) => r.msg === 'failover: event')?.source).toBe(`acs.cloudmonitor${FORGED}`);
  });

  it('failover: a refused event logs its reason as a JSON field', async () => {
    const context = fcContext('failover');
    const r = await failover(
      Buffer.from(JSON.stringify({ command: `x${FORGED}`, loadBalancerId: 'lb-1' })),
      context,
    );
    expect(r.ok).toBe(false);
    expect(records(context.lines).map((x) => x.level)).toEqual(['error']);
  });

  it('provision: the request line and an unexpected error are JSON', async () => {
    process.env.SLB_AUTOPILOT_API_SECRET = 'Zq3u9VvH0sJX1b8dQ2lTnYk5rEwA7mCf+PiLg4oRxS6=';
    const context = fcContext('provision');
    await provision(httpEvent({ method: 'GET', path: `/x${FORGED}` }), context);
    const [line] = records(context.lines);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'provision: request',
      status: 401,
      path: `/x${FORGED}`,
    });
  });
});

describe('failover event caps', () => {
  const alarmAt = (i: number) => ({
    ...alarmEvent,
    id: `id-${i}`,
    data: { ...alarmEvent.data, timestamp: String(1764000000 + i) },
  });

  it(`handles ${MAX_EVENTS_PER_INVOCATION} distinct events and refuses the rest, naming how many`, async () => {
    const context = fcContext('failover');
    const batch = Array.from({ length: MAX_EVENTS_PER_INVOCATION + 3 }, (_, i) => alarmAt(i));
    const r = await failover(Buffer.from(JSON.stringify(batch)), context);
    expect(r.ok).toBe(false);
    expect(r.reports).toHaveLength(MAX_EVENTS_PER_INVOCATION);
    expect(r.error).toMatch(
      /53 distinct events in one invocation, at most 50; the first 50 were handled, 3 refused/,
    );
    expect(records(context.lines).filter((x) => x.msg === 'failover: events refused')).toHaveLength(1);
  });

  it('deduplicates before counting: 200 deliveries of one alarm are one event, nothing refused', async () => {
    const batch = Array.from({ length: 200 }, () => alarmAt(1));
    const r = await failover(Buffer.from(JSON.stringify(batch)), fcContext('failover'));
    expect(r.error).toBeUndefined();
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]?.loadBalancerId).toBe(MALL.loadBalancerId);
  });
});
