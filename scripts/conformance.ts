// npm run conformance: how our code and the local cloud measure up against Alibaba's own API
// description (reference/openapi/). On a fresh local cloud holding the mall it runs every typed call of
// the cloud layer, then each action our code sends without its required parameters and with values that
// name nothing, and prints per action: requests checked, answers checked, rules encoded, and any gap.
// Exits 1 when an action our code sends is not covered or a check found something.

import { RateBudget } from '../shared/cloud/rate-budget';
import type { RpcParamValue } from '../shared/cloud/rpc-types';
import { CAS_VERSION, casActions } from './local-cloud/cas';
import { actionsOurCodeSends } from './local-cloud/conformance/coverage';
import { driveCloudLayer } from './local-cloud/conformance/drive';
import { actionModel } from './local-cloud/conformance/model';
import { responseRulesFor } from './local-cloud/conformance/response';
import { rulesFor } from './local-cloud/conformance/rules';
import { connectLocalCloud } from './local-cloud/connect';
import { ALIDNS_VERSION, alidnsActions } from './local-cloud/dns';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { startLocalCloud } from './local-cloud/server';
import { SLB_VERSION, slbActions } from './local-cloud/slb';

/** Every parameter the action requires, with a value of its type that names nothing. */
function nothingNamed(version: string, action: string): Record<string, RpcParamValue> {
  const out: Record<string, RpcParamValue> = {};
  for (const p of actionModel(version, action)?.request ?? []) {
    if (!p.required || p.name === 'RegionId') continue;
    const value = /Integer|Long/.test(p.type) ? 9 : p.format === 'json' ? '[]' : 'x-none';
    out[p.name] = p.style === 'repeatList' ? (p.items ? [{ Key: 'x-none', Value: 'v' }] : [value]) : value;
  }
  return out;
}

/** For an action without required parameters: a number that is not one, or a tag without a key. */
function malformed(version: string, action: string): Record<string, RpcParamValue> {
  const request = actionModel(version, action)?.request ?? [];
  const number = request.find((p) => /Integer|Long/.test(p.type));
  if (number) return { [number.name]: 'not-a-number' };
  return request.some((p) => p.name === 'Tag') ? { Tag: [{ Key: '', Value: 'v' }] } : {};
}

async function main(): Promise<number> {
  const cloud = await startLocalCloud({ scenario: 'mall', recordWire: true, tlsFrontEnds: false });
  try {
    const layer = connectLocalCloud(cloud, {
      budget: new RateBudget({ write: { capacity: 10_000, refillPerSecond: 10_000 } }),
      retry: { maxAttempts: 1 },
    });
    await driveCloudLayer(layer);
    const driven = cloud.wireLog().length;
    const sends = actionsOurCodeSends();
    // Errors: through the same RPC caller, without the required parameters, then naming nothing.
    for (const { version, action } of sends) {
      const product = version === SLB_VERSION ? 'slb' : version === CAS_VERSION ? 'cas' : 'alidns';
      for (const params of [{}, nothingNamed(version, action), malformed(version, action)])
        await layer.rpc
          .call({ product, action, regionId: MALL.regionId, params, write: false })
          .catch(() => undefined);
    }
    const log = cloud.wireLog();
    const implemented = new Set([
      ...Object.keys(slbActions),
      ...Object.keys(casActions),
      ...Object.keys(alidnsActions),
    ]);

    const rows = sends.map(({ version, action }) => {
      const ours = log.slice(0, driven).filter((x) => x.action === action);
      const all = log.filter((x) => x.action === action);
      const requestFindings = ours.flatMap((x) => x.requestFindings);
      const responseFindings = all.flatMap((x) => x.responseFindings);
      const gaps = [
        ...(implemented.has(action) ? [] : ['not in the local cloud']),
        ...(actionModel(version, action)?.response ? [] : ['no official response model']),
        ...(ours.some((x) => x.httpStatus === 200) ? [] : ['no success seen']),
        ...(all.some((x) => x.httpStatus >= 400) ? [] : ['no error seen']),
        ...requestFindings.map((f) => `request ${f.param}: ${f.message}`),
        ...responseFindings.map((f) => `response ${f.path}: ${f.message}`),
      ];
      return {
        product:
          version === SLB_VERSION
            ? 'slb'
            : version === CAS_VERSION
              ? 'cas'
              : version === ALIDNS_VERSION
                ? 'dns'
                : version,
        action,
        requests: ours.length,
        responses: all.length,
        rules: rulesFor(action).length + responseRulesFor(action).length,
        gaps,
        undocumentedParams: requestFindings.filter((f) => f.kind === 'undocumented').length,
        undocumentedFields: responseFindings.filter((f) => f.kind === 'undocumented').length,
      };
    });

    const width = Math.max(...rows.map((r) => r.action.length)) + 2;
    const line = (cells: (string | number)[]) =>
      `${String(cells[0]).padEnd(5)}${String(cells[1]).padEnd(width)}${String(cells[2]).padStart(9)}${String(cells[3]).padStart(10)}${String(cells[4]).padStart(7)}  ${cells[5]}`;
    console.log(line(['api', 'action', 'requests', 'responses', 'rules', 'gaps']));
    for (const r of rows)
      console.log(line([r.product, r.action, r.requests, r.responses, r.rules, r.gaps.join('; ') || '-']));
    const covered = rows.filter((r) => r.gaps.length === 0).length;
    const sum = (k: 'requests' | 'responses' | 'undocumentedParams' | 'undocumentedFields') =>
      rows.reduce((n, r) => n + r[k], 0);
    const notSent = [...implemented].filter((a) => !sends.some((s) => s.action === a));
    console.log('');
    console.log(
      `actions our code sends: ${rows.length}; covered without a gap: ${covered} (${Math.round((100 * covered) / rows.length)}%)`,
    );
    console.log(
      `requests checked: ${sum('requests')}; responses checked: ${sum('responses')}; rules encoded: ${rows.reduce((n, r) => n + r.rules, 0)} on these actions`,
    );
    console.log(
      `undocumented parameters sent: ${sum('undocumentedParams')}; undocumented response fields served: ${sum('undocumentedFields')}`,
    );
    console.log(`fidelity warnings recorded by the local cloud: ${cloud.calls().warnings.length}`);
    if (notSent.length > 0)
      console.log(`implemented by the local cloud, not sent by our code: ${notSent.join(', ')}`);
    return covered === rows.length && cloud.calls().warnings.length === 0 ? 0 : 1;
  } finally {
    await cloud.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
