// SLB 2014-05-15 actions: forwarding rules on HTTP/HTTPS listeners (reference §6.8).
import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { RuleRecord } from '../state';
import { findListener, findLoadBalancer } from './common';

const RULE_NAME = /^[A-Za-z0-9\-/._]{1,40}$/;
const URL_RE = /^\/[A-Za-z0-9\-/.%?#&]{1,79}$/;
const DOMAIN = /^(\*\.)?([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$/;

function ruleBody(r: RuleRecord): Record<string, unknown> {
  return {
    RuleId: r.ruleId,
    RuleName: r.ruleName,
    ...(r.domain !== undefined ? { Domain: r.domain } : {}),
    ...(r.url !== undefined ? { Url: r.url } : {}),
    VServerGroupId: r.vServerGroupId,
    ListenerSync: 'on',
    ...r.extra,
  };
}

function requireGroup(ctx: ActionContext, loadBalancerId: string, id: string): void {
  if (!ctx.state.vServerGroups.some((g) => g.vServerGroupId === id && g.loadBalancerId === loadBalancerId)) {
    throw new ApiError('InvalidParameter', 'The specified VServerGroupId does not exist.', 404);
  }
}

function createRules(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const port = p.requiredInt('ListenerPort', { min: 1, max: 65535 });
  const protocol = p.oneOf('ListenerProtocol', ['http', 'https']);
  const listener = findListener(ctx, lb.loadBalancerId, port, protocol);
  if (listener.listenerProtocol !== 'http' && listener.listenerProtocol !== 'https') {
    throw new ApiError('RuleNotSupport', 'Forwarding rules need an HTTP or HTTPS listener.');
  }
  const list = p.json('RuleList', 'RuleListMalformed');
  if (list === undefined)
    throw new ApiError(
      'MissingParameter',
      'The input parameter "RuleList" that is mandatory for processing this request is not supplied.',
    );
  if (!Array.isArray(list) || list.length === 0)
    throw new ApiError('RuleListMalformed', 'RuleList must be a non-empty JSON array.');
  if (list.length > ctx.limits.rulesPerCall)
    throw new ApiError('TooManyRules', `At most ${ctx.limits.rulesPerCall} rules per call.`);
  const existing = ctx.state.rules.filter(
    (r) => r.loadBalancerId === lb.loadBalancerId && r.listenerPort === port,
  );
  const created: RuleRecord[] = [];
  for (const [i, raw] of (list as Record<string, unknown>[]).entries()) {
    const name = raw?.RuleName;
    if (typeof name !== 'string' || !RULE_NAME.test(name))
      throw invalidParameter(`RuleList[${i}].RuleName`, 'must be 1-40 letters, digits, -, /, . or _');
    const domain = typeof raw.Domain === 'string' && raw.Domain !== '' ? raw.Domain : undefined;
    const url = typeof raw.Url === 'string' && raw.Url !== '' ? raw.Url : undefined;
    if (domain === undefined && url === undefined)
      throw new ApiError('RuleListMalformed', `RuleList[${i}] needs a Domain or a Url.`);
    if (domain !== undefined && !DOMAIN.test(domain))
      throw new ApiError('DomainMalformed', `RuleList[${i}].Domain is malformed.`);
    if (url !== undefined && !URL_RE.test(url))
      throw new ApiError('UrlMalformed', `RuleList[${i}].Url is malformed.`);
    const groupId = raw.VServerGroupId;
    if (typeof groupId !== 'string')
      throw new ApiError(
        'MissingParameter',
        `The input parameter "RuleList[${i}].VServerGroupId" is not supplied.`,
      );
    requireGroup(ctx, lb.loadBalancerId, groupId);
    const all = [...existing, ...created];
    if (all.some((r) => r.ruleName === name))
      throw invalidParameter(`RuleList[${i}].RuleName`, 'already exists on the listener');
    if (all.some((r) => r.domain === domain && r.url === url))
      throw new ApiError('DomainExist', 'A rule with the same Domain and Url exists on the listener.');
    if (all.length >= 40) throw new ApiError('TooManyRules', 'A listener has at most 40 forwarding rules.');
    created.push({
      ruleId: ctx.newId('rule-bp1'),
      ruleName: name,
      regionId: ctx.regionId,
      loadBalancerId: lb.loadBalancerId,
      listenerPort: port,
      listenerProtocol: listener.listenerProtocol,
      ...(domain !== undefined ? { domain } : {}),
      ...(url !== undefined ? { url } : {}),
      vServerGroupId: groupId,
      extra: {},
    });
  }
  ctx.state.rules.push(...created);
  return { Rules: { Rule: created.map((r) => ({ RuleId: r.ruleId, RuleName: r.ruleName })) } };
}

function describeRules(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const port = p.requiredInt('ListenerPort', { min: 1, max: 65535 });
  const rules = ctx.state.rules.filter(
    (r) => r.loadBalancerId === lb.loadBalancerId && r.listenerPort === port,
  );
  return { Rules: { Rule: rules.map(ruleBody) } };
}

function findRule(ctx: ActionContext): RuleRecord {
  const id = ctx.params.requiredStr('RuleId');
  const r = ctx.state.rules.find((x) => x.ruleId === id && x.regionId === ctx.regionId);
  if (!r) throw new ApiError('InvalidRuleId.NotFound', 'The specified RuleId does not exist.', 404);
  return r;
}

function describeRuleAttribute(ctx: ActionContext): Record<string, unknown> {
  const r = findRule(ctx);
  // ListenerPort is a string in this one response.
  return { ...ruleBody(r), LoadBalancerId: r.loadBalancerId, ListenerPort: String(r.listenerPort) };
}

function setRule(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const r = findRule(ctx);
  if (p.has('Domain') || p.has('Url'))
    throw invalidParameter('Domain', 'and Url cannot be changed: delete and recreate the rule');
  const name = p.str('RuleName');
  if (name !== undefined && !RULE_NAME.test(name))
    throw invalidParameter('RuleName', 'must be 1-40 letters, digits, -, /, . or _');
  const groupId = p.str('VServerGroupId');
  if (groupId !== undefined) requireGroup(ctx, r.loadBalancerId, groupId);
  if (p.bool('DryRun')) return {};
  if (name !== undefined) r.ruleName = name;
  if (groupId !== undefined) r.vServerGroupId = groupId;
  return {};
}

function deleteRules(ctx: ActionContext): Record<string, unknown> {
  const ids = ctx.params.json('RuleIds');
  if (ids === undefined)
    throw new ApiError(
      'MissingParameter',
      'The input parameter "RuleIds" that is mandatory for processing this request is not supplied.',
    );
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > 10 ||
    !ids.every((x) => typeof x === 'string')
  ) {
    throw invalidParameter('RuleIds', 'must be a JSON array of 1-10 rule ids');
  }
  const rules = ids.map((id) => {
    const r = ctx.state.rules.find((x) => x.ruleId === id && x.regionId === ctx.regionId);
    if (!r) throw new ApiError('InvalidRuleId.NotFound', `The specified RuleId ${id} does not exist.`, 404);
    return r;
  });
  const first = rules[0]!;
  if (rules.some((r) => r.loadBalancerId !== first.loadBalancerId || r.listenerPort !== first.listenerPort)) {
    throw new ApiError('Operation.NotAllowed', 'The specified rules must be in the same listener.');
  }
  ctx.state.rules = ctx.state.rules.filter((r) => !rules.includes(r));
  return {};
}

export const rulesActions: ActionTable = {
  CreateRules: write(createRules),
  DescribeRules: read(describeRules),
  DescribeRuleAttribute: read(describeRuleAttribute),
  SetRule: write(setRule),
  DeleteRules: write(deleteRules),
};
