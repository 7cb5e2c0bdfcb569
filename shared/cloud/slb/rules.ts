// Typed SLB actions: forwarding rules (domain and/or URL -> VServer group) on HTTP/HTTPS listeners.
import { chunk } from '../../domain/batching';
import { CloudError, deleteIdempotently } from '../errors';
import type { RpcCaller } from '../rpc-types';
import { list, num, reqStr, str } from './wire';

export const RULES_PER_CALL = 10;

export interface Rule {
  ruleId: string;
  /** 1-40 characters, unique per listener */
  ruleName: string;
  domain?: string;
  /** starts with `/`, 1-80 characters */
  url?: string;
  vServerGroupId: string;
  loadBalancerId?: string;
  listenerPort?: number;
}

export type NewRule = Omit<Rule, 'ruleId' | 'loadBalancerId' | 'listenerPort'>;

const toRule = (o: Record<string, unknown>): Rule => ({
  ruleId: reqStr(o.RuleId, 'RuleId'),
  ruleName: str(o.RuleName) ?? '',
  domain: str(o.Domain) || undefined,
  url: str(o.Url) || undefined,
  vServerGroupId: str(o.VServerGroupId) ?? '',
  loadBalancerId: str(o.LoadBalancerId),
  // a string in DescribeRuleAttribute, a number elsewhere
  listenerPort: num(o.ListenerPort),
});

/** Creates rules, 10 per call; returns their ids in order. */
async function createRules(
  rpc: RpcCaller,
  req: { regionId: string; loadBalancerId: string; listenerPort: number; rules: NewRule[] },
): Promise<{ ruleId: string; ruleName: string }[]> {
  const out: { ruleId: string; ruleName: string }[] = [];
  for (const rules of chunk(req.rules, RULES_PER_CALL)) {
    const body = await rpc.call({
      product: 'slb',
      action: 'CreateRules',
      regionId: req.regionId,
      params: {
        LoadBalancerId: req.loadBalancerId,
        ListenerPort: req.listenerPort,
        RuleList: JSON.stringify(
          rules.map((r) => ({
            RuleName: r.ruleName,
            Domain: r.domain,
            Url: r.url,
            VServerGroupId: r.vServerGroupId,
          })),
        ),
      },
      write: true,
    });
    out.push(
      ...list(body, 'Rules', 'Rule').map((r) => ({
        ruleId: reqStr(r.RuleId, 'RuleId'),
        ruleName: str(r.RuleName) ?? '',
      })),
    );
  }
  return out;
}

async function describeRules(
  rpc: RpcCaller,
  req: { regionId: string; loadBalancerId: string; listenerPort: number },
): Promise<Rule[]> {
  const body = await rpc.call({
    product: 'slb',
    action: 'DescribeRules',
    regionId: req.regionId,
    params: { LoadBalancerId: req.loadBalancerId, ListenerPort: req.listenerPort },
    write: false,
  });
  return list(body, 'Rules', 'Rule').map((r) => ({
    ...toRule(r),
    loadBalancerId: req.loadBalancerId,
    listenerPort: req.listenerPort,
  }));
}

async function describeRule(rpc: RpcCaller, req: { regionId: string; ruleId: string }): Promise<Rule> {
  const body = await rpc.call({
    product: 'slb',
    action: 'DescribeRuleAttribute',
    regionId: req.regionId,
    params: { RuleId: req.ruleId },
    write: false,
  });
  return toRule(body);
}

/** Name and group only: Domain and Url cannot change (delete and recreate for that). */
async function setRule(
  rpc: RpcCaller,
  req: { regionId: string; ruleId: string; ruleName?: string; vServerGroupId?: string },
): Promise<void> {
  await rpc.call({
    product: 'slb',
    action: 'SetRule',
    regionId: req.regionId,
    params: { RuleId: req.ruleId, RuleName: req.ruleName, VServerGroupId: req.vServerGroupId },
    write: true,
  });
}

/** Rules of one listener, 10 per call. */
/** The answer for a rule id that does not exist (Terraform's provider reads it the same way). */
const RULE_GONE = 'InvalidRuleId.NotFound';

/**
 * Idempotent: a rule that is already gone counts as deleted (a retry after an answer that was lost). The
 * API refuses a whole call when one of its ids is gone, so such a call is made again id by id.
 */
async function deleteRules(rpc: RpcCaller, req: { regionId: string; ruleIds: string[] }): Promise<void> {
  const call = (ids: string[]) =>
    rpc.call({
      product: 'slb',
      action: 'DeleteRules',
      regionId: req.regionId,
      params: { RuleIds: JSON.stringify(ids) },
      write: true,
    });
  for (const ids of chunk(req.ruleIds, RULES_PER_CALL)) {
    try {
      await call(ids);
    } catch (err) {
      if (!(err instanceof CloudError && err.code === RULE_GONE)) throw err;
      for (const id of ids.length > 1 ? ids : []) await deleteIdempotently(() => call([id]), RULE_GONE);
    }
  }
}

export function ruleApi(rpc: RpcCaller) {
  return {
    createRules: (req: Parameters<typeof createRules>[1]) => createRules(rpc, req),
    describeRules: (req: Parameters<typeof describeRules>[1]) => describeRules(rpc, req),
    describeRule: (req: Parameters<typeof describeRule>[1]) => describeRule(rpc, req),
    setRule: (req: Parameters<typeof setRule>[1]) => setRule(rpc, req),
    deleteRules: (req: Parameters<typeof deleteRules>[1]) => deleteRules(rpc, req),
  };
}
