// The conformance checker against the official API descriptions (reference/openapi/): request
// parameters as they travel on the wire, the encoded conditional rules, and response shapes.
import { describe, expect, it } from 'vitest';
import { actionModel, apiModel } from '../../../scripts/local-cloud/conformance/model';
import { checkRequest } from '../../../scripts/local-cloud/conformance/request';
import { checkResponse, checkShape, ERROR_BODY } from '../../../scripts/local-cloud/conformance/response';
import { REQUEST_RULES } from '../../../scripts/local-cloud/conformance/rules';

const SLB = '2014-05-15';

function check(action: string, params: Record<string, string>, version = SLB) {
  const api = apiModel(version);
  const model = actionModel(version, action);
  if (!api || !model) throw new Error(`no model for ${action}`);
  return checkRequest(api, model, action, params);
}

const redirect = {
  RegionId: 'cn-hangzhou',
  LoadBalancerId: 'lb-1',
  ListenerPort: '80',
  HealthCheck: 'off',
  ListenerForward: 'on',
  ForwardPort: '443',
};

describe('request conformance', () => {
  it('accepts a request that follows the official description, repeat lists flattened as the SDK sends them', () => {
    // Act
    const findings = check('DescribeLoadBalancerListeners', {
      RegionId: 'cn-hangzhou',
      'LoadBalancerId.1': 'lb-1',
      'LoadBalancerId.2': 'lb-2',
      'Tag.1.Key': 'managed-by',
      'Tag.1.Value': 'slb-autopilot',
      MaxResults: '100',
    });
    // Assess
    expect(findings).toEqual([]);
  });

  it.each([
    [
      'a parameter the action does not take',
      'SetLoadBalancerHTTPListenerAttribute',
      { ListenerForward: 'on' },
      'undocumented',
      'ListenerForward',
    ],
    [
      'an item a repeat list does not have',
      'DescribeLoadBalancerListeners',
      { 'Tag.1.Name': 'x' },
      'undocumented',
      'Tag.1.Name',
    ],
    [
      'a repeat list sent as a plain parameter',
      'DescribeLoadBalancerListeners',
      { LoadBalancerId: 'lb-1' },
      'undocumented',
      'LoadBalancerId',
    ],
    [
      'an Integer that does not parse',
      'DescribeLoadBalancerListeners',
      { MaxResults: 'ten' },
      'type',
      'MaxResults',
    ],
    [
      'a Boolean that is not true/false',
      'DescribeVServerGroups',
      { LoadBalancerId: 'lb-1', IncludeRule: 'yes' },
      'type',
      'IncludeRule',
    ],
    [
      'a value outside the enum',
      'DescribeLoadBalancerListeners',
      { ListenerProtocol: 'HTTP' },
      'constraint',
      'ListenerProtocol',
    ],
  ])('flags %s', (_, action, params, kind, param) => {
    // Act
    const findings = check(action, {
      RegionId: 'cn-hangzhou',
      ListenerPort: '80',
      LoadBalancerId: 'lb-1',
      ...params,
    });
    // Assess
    expect(findings).toContainEqual(expect.objectContaining({ kind, param }));
  });

  it('flags an unconditional requirement that is missing', () => {
    // Act
    const findings = check('CreateLoadBalancerHTTPListener', {
      LoadBalancerId: 'lb-1',
      ListenerPort: '80',
      BackendServerPort: '80',
    });
    // Assess
    expect(findings).toContainEqual(
      expect.objectContaining({ kind: 'missing', param: 'HealthCheck', missing: true }),
    );
  });

  it('requires BackendServerPort on a listener without VServerGroupId, redirects included', () => {
    // Act
    const without = check('CreateLoadBalancerHTTPListener', redirect);
    const withPort = check('CreateLoadBalancerHTTPListener', { ...redirect, BackendServerPort: '80' });
    const withGroup = check('CreateLoadBalancerHTTPListener', { ...redirect, VServerGroupId: 'rsp-1' });
    // Assess
    expect(without).toEqual([
      expect.objectContaining({ kind: 'rule', param: 'BackendServerPort', missing: true }),
    ]);
    expect(withPort).toEqual([]);
    expect(withGroup).toEqual([]);
  });

  it.each(['/health=1', '/health_check', '/', 'health'])(
    'refuses HealthCheckURI %s (only letters, digits and - / . %% ? # &)',
    (uri) => {
      // Act
      const findings = check('SetLoadBalancerHTTPSListenerAttribute', {
        LoadBalancerId: 'lb-1',
        ListenerPort: '443',
        HealthCheckURI: uri,
      });
      // Assess
      expect(findings).toContainEqual(expect.objectContaining({ kind: 'rule', param: 'HealthCheckURI' }));
    },
  );

  it('checks the entries of JSON parameters: BackendServers fields, RuleList requirements', () => {
    // Act
    const backends = check('SetVServerGroupAttribute', {
      RegionId: 'cn-hangzhou',
      VServerGroupId: 'rsp-1',
      BackendServers: JSON.stringify([{ ServerId: 'eni-1', Port: 80, Weight: 1, Colour: 'red' }]),
    });
    const rules = check('CreateRules', {
      RegionId: 'cn-hangzhou',
      LoadBalancerId: 'lb-1',
      ListenerPort: '443',
      RuleList: JSON.stringify([{ RuleName: 'a', VServerGroupId: 'rsp-1' }]),
    });
    // Assess
    expect(backends.map((f) => f.param).sort()).toEqual([
      'BackendServers[0].Colour',
      'BackendServers[0].Type',
    ]);
    expect(rules).toEqual([expect.objectContaining({ param: 'RuleList[0].Domain', missing: true })]);
  });

  it('caps ResourceId.N at 20 per tag call', () => {
    // Prepare
    const ids = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`ResourceId.${i + 1}`, `lb-${i}`]));
    // Act
    const findings = check('ListTagResources', { RegionId: 'cn-hangzhou', ResourceType: 'instance', ...ids });
    // Assess
    expect(findings).toEqual([expect.objectContaining({ kind: 'rule', param: 'ResourceId' })]);
  });

  it('knows CAS takes no RegionId and its Long parameters', () => {
    // Act
    const findings = check(
      'GetUserCertificateDetail',
      { RegionId: 'cn-hangzhou', CertId: '12a' },
      '2020-04-07',
    );
    // Assess
    expect(findings.map((f) => [f.kind, f.param])).toEqual([
      ['undocumented', 'RegionId'],
      ['type', 'CertId'],
    ]);
  });

  it('encodes each rule from an official note and only for actions that have the parameters', () => {
    for (const rule of REQUEST_RULES) {
      expect(rule.note.length).toBeGreaterThan(10);
      for (const action of rule.actions)
        expect(actionModel(SLB, action), `${rule.id}: ${action}`).toBeDefined();
    }
  });
});

describe('response conformance', () => {
  const schema = actionModel(SLB, 'DescribeLoadBalancerListeners')?.response;
  if (!schema) throw new Error('no response model');

  it('accepts a documented body and ignores fields left undefined', () => {
    // Act
    const findings = checkResponse(schema, 'DescribeLoadBalancerListeners', {
      RequestId: 'r',
      MaxResults: 20,
      NextToken: '',
      TotalCount: 1,
      Listeners: [
        {
          ListenerPort: 80,
          Tags: [{ TagKey: 'a', TagValue: 'b' }],
          HTTPListenerConfig: { ListenerForward: 'on', ForwardPort: 443, HealthCheckURI: undefined },
        },
      ],
    });
    // Assess
    expect(findings).toEqual([]);
  });

  it('flags an undocumented field, a string for an integer and wrong nesting, with their paths', () => {
    // Act
    const findings = checkResponse(schema, 'DescribeLoadBalancerListeners', {
      RequestId: 'r',
      TotalCount: '1',
      Listeners: [{ HTTPListenerConfig: { AclStatus: 'off' }, Tags: { Tag: [] } }],
    });
    // Assess
    expect(findings.map((f) => [f.kind, f.path])).toEqual([
      ['type', 'TotalCount'],
      ['undocumented', 'Listeners[0].HTTPListenerConfig.AclStatus'],
      ['type', 'Listeners[0].Tags'],
    ]);
  });

  it('flags a field the documentation returns only under a condition', () => {
    // Act
    const findings = checkResponse(schema, 'DescribeLoadBalancerListeners', {
      Listeners: [{ HTTPListenerConfig: { ListenerForward: 'off', ForwardPort: 443 } }],
    });
    // Assess
    expect(findings).toEqual([
      expect.objectContaining({ kind: 'condition', path: 'Listeners[0].HTTPListenerConfig.ForwardPort' }),
    ]);
  });

  it('checks error bodies against the common error shape', () => {
    expect(
      checkShape(ERROR_BODY, { RequestId: 'r', HostId: 'h', Code: 'c', Message: 'm', Recommend: 'u' }),
    ).toEqual([]);
    expect(checkShape(ERROR_BODY, { Code: 'c', Message: 'm', Detail: 'x' })).toEqual([
      expect.objectContaining({ kind: 'undocumented', path: 'Detail' }),
    ]);
  });
});
