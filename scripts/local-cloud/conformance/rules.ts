// The conditional request rules of the actions our code sends, encoded from the official request
// notes (reference/openapi/*.json `requestNotes`, quoted in `note`). The metadata marks such parameters
// `required: false`; these checks say when they are required after all, or which values the
// documentation allows where the metadata carries no machine-readable constraint.
// Rules that depend on the cloud's state (ListenerProtocol when two protocols share a port) cannot be
// checked on a request alone; the local cloud's handlers enforce those.

export type WireParams = Readonly<Record<string, string>>;

export interface RuleViolation {
  /** `missing`: a conditionally required parameter is absent; `invalid`: a value the rule refuses */
  kind: 'missing' | 'invalid';
  /** the wire name, e.g. `BackendServerPort` or `RuleList[1].RuleName` */
  param: string;
  message: string;
}

export interface RequestRule {
  id: string;
  actions: readonly string[];
  /** the official sentence(s) this rule encodes */
  note: string;
  check(p: WireParams): RuleViolation[];
}

const has = (p: WireParams, name: string): boolean => p[name] !== undefined && p[name] !== '';
const missing = (param: string, message: string): RuleViolation => ({ kind: 'missing', param, message });
const invalid = (param: string, message: string): RuleViolation => ({ kind: 'invalid', param, message });

/** `Name.1`, `Name.2`, ... (and `Name.N.Sub`) entries of a repeat list */
const repeatCount = (p: WireParams, name: string): number =>
  new Set(
    Object.keys(p)
      .map((k) => new RegExp(`^${name}\\.(\\d+)(\\.|$)`).exec(k)?.[1])
      .filter((x): x is string => x !== undefined),
  ).size;

function jsonArray(p: WireParams, name: string): { items?: unknown[]; violation?: RuleViolation } {
  const raw = p[name];
  if (raw === undefined) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? { items: v } : { violation: invalid(name, `${name} must be a JSON array`) };
  } catch {
    return { violation: invalid(name, `${name} is not valid JSON`) };
  }
}

const LISTENER_CREATE = ['CreateLoadBalancerHTTPListener', 'CreateLoadBalancerHTTPSListener'] as const;
const LISTENER_SET = [
  'SetLoadBalancerHTTPListenerAttribute',
  'SetLoadBalancerHTTPSListenerAttribute',
] as const;
const LISTENER_ALL = [...LISTENER_CREATE, ...LISTENER_SET] as const;

/** HealthCheckURI: 1-80 characters, starts with `/` but is not `/` alone; letters, digits and `- / . % ? # &`. */
export const HEALTH_CHECK_URI = /^\/[A-Za-z0-9\-/.%?#&]{1,79}$/;
/** HealthCheckDomain: 1-80 letters, digits, `.` and `-` (or `$_ip`, the backend's private IP) */
const HEALTH_CHECK_DOMAIN = /^(\$_ip|[A-Za-z0-9.-]{1,80})$/;
/** Names and descriptions: letters, digits, `- / . _` */
const NAME_CHARS = (min: number, max: number) => new RegExp(`^[A-Za-z0-9\\-/._]{${min},${max}}$`);
/** Forwarding rule URLs share the health-check URI alphabet and may be `/` alone. */
const RULE_URL = /^\/[A-Za-z0-9\-/.%?#&]{0,79}$/;
const BACKEND_FIELDS = new Set(['ServerId', 'Port', 'Weight', 'Type', 'ServerIp', 'Description']);

function backendServersRule(param: string, actions: readonly string[]): RequestRule {
  return {
    id: `${param}-entries`,
    actions,
    note: `${param}: ServerId: Required. If you set ServerId to the ID of an ENI or an elastic container instance, you must configure the Type parameter. The description must be 1 to 80 characters in length, and can contain letters, digits, hyphens (-), forward slashes (/), periods (.), and underscores (_). (Entries: ServerId, Weight, Type, ServerIp, Port, Description.)`,
    check(p) {
      const { items, violation } = jsonArray(p, param);
      if (violation) return [violation];
      const out: RuleViolation[] = [];
      (items ?? []).forEach((raw, i) => {
        const at = `${param}[${i}]`;
        const e = (raw ?? {}) as Record<string, unknown>;
        for (const k of Object.keys(e))
          if (!BACKEND_FIELDS.has(k))
            out.push(invalid(`${at}.${k}`, `${k} is not a field of ${param} entries`));
        if (typeof e.ServerId !== 'string' || e.ServerId === '')
          out.push(missing(`${at}.ServerId`, 'ServerId is required'));
        else if (/^(eni|eci)-/.test(e.ServerId) && e.Type === undefined)
          out.push(missing(`${at}.Type`, 'Type is required for an ENI or ECI backend'));
        if (e.Description !== undefined && !NAME_CHARS(1, 80).test(String(e.Description)))
          out.push(invalid(`${at}.Description`, 'Description: 1-80 letters, digits, - / . _'));
      });
      return out;
    },
  };
}

export const REQUEST_RULES: readonly RequestRule[] = [
  {
    id: 'BackendServerPort-without-VServerGroupId',
    actions: LISTENER_CREATE,
    note: 'BackendServerPort: If the VServerGroupId parameter is not specified, this parameter is required.',
    check: (p) =>
      !has(p, 'VServerGroupId') && !has(p, 'BackendServerPort')
        ? [missing('BackendServerPort', 'BackendServerPort is required when VServerGroupId is not given')]
        : [],
  },
  {
    id: 'StickySessionType-when-StickySession-on',
    actions: [...LISTENER_ALL, 'SetRule'],
    note: 'StickySessionType: This parameter is required if the StickySession parameter is set to on.',
    check: (p) =>
      p.StickySession === 'on' && !has(p, 'StickySessionType')
        ? [missing('StickySessionType', 'StickySessionType is required when StickySession is on')]
        : [],
  },
  {
    id: 'CookieTimeout-when-insert',
    actions: [...LISTENER_ALL, 'SetRule'],
    note: 'CookieTimeout: If StickySession is set to on and StickySessionType is set to insert, this parameter is required.',
    check: (p) =>
      p.StickySession === 'on' && p.StickySessionType === 'insert' && !has(p, 'CookieTimeout')
        ? [missing('CookieTimeout', 'CookieTimeout is required for insert sticky sessions')]
        : [],
  },
  {
    id: 'Cookie-when-server',
    actions: [...LISTENER_ALL, 'SetRule'],
    note: 'Cookie: This parameter is required when the StickySession parameter is set to on and the StickySessionType parameter is set to server.',
    check: (p) =>
      p.StickySession === 'on' && p.StickySessionType === 'server' && !has(p, 'Cookie')
        ? [missing('Cookie', 'Cookie is required for server sticky sessions')]
        : [],
  },
  {
    id: 'AclId-when-AclStatus-on',
    actions: LISTENER_ALL,
    note: 'AclId: If AclStatus is set to on, this parameter is required. (HTTPS create: AclType too.)',
    check: (p) => {
      if (p.AclStatus !== 'on') return [];
      const out: RuleViolation[] = [];
      if (!has(p, 'AclId')) out.push(missing('AclId', 'AclId is required when AclStatus is on'));
      if (!has(p, 'AclType')) out.push(missing('AclType', 'AclType is required when AclStatus is on'));
      return out;
    },
  },
  {
    id: 'HealthCheckURI-characters',
    actions: LISTENER_ALL,
    note: 'HealthCheckURI: The URI must be 1 to 80 characters in length, and can contain letters, digits, hyphens (-), forward slashes (/), periods (.), percent signs (%), question marks (?), number signs (#), and ampersands (&). The URI must start with a forward slash (/) but cannot be a single forward slash (/).',
    check: (p) =>
      p.HealthCheckURI !== undefined && !HEALTH_CHECK_URI.test(p.HealthCheckURI)
        ? [
            invalid(
              'HealthCheckURI',
              'HealthCheckURI: 2-80 characters starting with /, only letters, digits and - / . % ? # &',
            ),
          ]
        : [],
  },
  {
    id: 'HealthCheckDomain-characters',
    actions: [...LISTENER_ALL, 'SetRule'],
    note: 'HealthCheckDomain: The domain name must be 1 to 80 characters in length, and can contain letters, digits, periods (.), and hyphens (-).',
    check: (p) =>
      p.HealthCheckDomain !== undefined && !HEALTH_CHECK_DOMAIN.test(p.HealthCheckDomain)
        ? [invalid('HealthCheckDomain', 'HealthCheckDomain: 1-80 letters, digits, . and -')]
        : [],
  },
  {
    id: 'Description-characters',
    actions: LISTENER_ALL,
    note: 'Description: The name must be 1 to 256 characters in length, and can contain letters, digits, hyphens (-), forward slashes (/), periods (.), and underscores (_).',
    check: (p) =>
      p.Description !== undefined && !NAME_CHARS(1, 256).test(p.Description)
        ? [invalid('Description', 'Description: 1-256 letters, digits, - / . _')]
        : [],
  },
  {
    id: 'VServerGroupId-when-VServerGroup-on',
    actions: LISTENER_SET,
    note: 'VServerGroup: on means the listener forwards to the VServer group named by VServerGroupId.',
    check: (p) =>
      p.VServerGroup === 'on' && !has(p, 'VServerGroupId')
        ? [missing('VServerGroupId', 'VServerGroupId is required when VServerGroup is on')]
        : [],
  },
  {
    id: 'ForwardPort-when-ListenerForward-on',
    actions: ['CreateLoadBalancerHTTPListener'],
    note: 'ForwardPort: the HTTPS listener port requests are redirected to; used when ListenerForward is on.',
    check: (p) =>
      p.ListenerForward === 'on' && !has(p, 'ForwardPort')
        ? [missing('ForwardPort', 'ForwardPort is required when ListenerForward is on')]
        : [],
  },
  {
    id: 'VSwitchId-in-VPC',
    actions: ['CreateLoadBalancer'],
    note: 'VSwitchId: If you want to deploy the CLB instance in a VPC, this parameter is required.',
    check: (p) =>
      has(p, 'VpcId') && !has(p, 'VSwitchId')
        ? [missing('VSwitchId', 'VSwitchId is required for a load balancer in a VPC')]
        : [],
  },
  {
    id: 'LoadBalancerName-characters',
    actions: ['CreateLoadBalancer'],
    note: 'LoadBalancerName: The name must be 1 to 80 characters in length, and can contain digits, periods (.), underscores (_), and hyphens (-). It must start with a letter.',
    check: (p) =>
      p.LoadBalancerName !== undefined && !/^[A-Za-z][A-Za-z0-9._-]{0,79}$/.test(p.LoadBalancerName)
        ? [
            invalid(
              'LoadBalancerName',
              'LoadBalancerName: 1-80 characters, a letter first, then letters, digits, . _ -',
            ),
          ]
        : [],
  },
  {
    id: 'VServerGroupName-characters',
    actions: ['CreateVServerGroup', 'SetVServerGroupAttribute'],
    note: 'VServerGroupName: The name must be 1 to 80 characters in length, and can contain letters, digits, hyphens (-), forward slashes (/), periods (.),and underscores (_).',
    check: (p) =>
      p.VServerGroupName !== undefined && !NAME_CHARS(1, 80).test(p.VServerGroupName)
        ? [invalid('VServerGroupName', 'VServerGroupName: 1-80 letters, digits, - / . _')]
        : [],
  },
  {
    id: 'ServerCertificateName-characters',
    actions: ['UploadServerCertificate', 'SetServerCertificateName'],
    note: 'ServerCertificateName: The name must be 1 to 80 characters in length (SetServerCertificateName: letters, digits, - / . _ *; UploadServerCertificate: it must start with an English letter).',
    check: (p) =>
      p.ServerCertificateName !== undefined && !/^[A-Za-z0-9\-/._*]{1,80}$/.test(p.ServerCertificateName)
        ? [invalid('ServerCertificateName', 'ServerCertificateName: 1-80 letters, digits, - / . _ *')]
        : [],
  },
  backendServersRule('BackendServers', [
    'AddVServerGroupBackendServers',
    'RemoveVServerGroupBackendServers',
    'SetVServerGroupAttribute',
    'CreateVServerGroup',
  ]),
  backendServersRule('OldBackendServers', ['ModifyVServerGroupBackendServers']),
  backendServersRule('NewBackendServers', ['ModifyVServerGroupBackendServers']),
  {
    id: 'RuleList-entries',
    actions: ['CreateRules'],
    note: 'RuleList: RuleName: Required; 1 to 40 characters (letters, digits, - / . _). VServerGroupId: Required. You must specify at least one between the Domain and URL parameters. Url: 1 to 80 characters (letters, digits, - / . % ? # &), starting with a forward slash (/).',
    check(p) {
      const { items, violation } = jsonArray(p, 'RuleList');
      if (violation) return [violation];
      const out: RuleViolation[] = [];
      (items ?? []).forEach((raw, i) => {
        const at = `RuleList[${i}]`;
        const r = (raw ?? {}) as Record<string, unknown>;
        if (typeof r.RuleName !== 'string' || r.RuleName === '')
          out.push(missing(`${at}.RuleName`, 'RuleName is required'));
        else if (!NAME_CHARS(1, 40).test(r.RuleName))
          out.push(invalid(`${at}.RuleName`, 'RuleName: 1-40 letters, digits, - / . _'));
        if (typeof r.VServerGroupId !== 'string' || r.VServerGroupId === '')
          out.push(missing(`${at}.VServerGroupId`, 'VServerGroupId is required'));
        if (!r.Domain && !r.Url) out.push(missing(`${at}.Domain`, 'Domain or Url is required'));
        if (typeof r.Url === 'string' && !RULE_URL.test(r.Url))
          out.push(
            invalid(`${at}.Url`, 'Url: 1-80 characters starting with /, letters, digits, - / . % ? # &'),
          );
      });
      return out;
    },
  },
  {
    id: 'RuleIds-non-empty',
    actions: ['DeleteRules'],
    note: 'RuleIds: The RuleIds parameter is required. You must specify at least one forwarding rule that you want to delete.',
    check(p) {
      const { items, violation } = jsonArray(p, 'RuleIds');
      if (violation) return [violation];
      if (items && (items.length === 0 || !items.every((x) => typeof x === 'string')))
        return [invalid('RuleIds', 'RuleIds: a JSON array of at least one rule id')];
      return [];
    },
  },
  {
    id: 'SetRule-ListenerSync-off',
    actions: ['SetRule'],
    note: 'HealthCheck, Scheduler, StickySession: This parameter is required and takes effect if the ListenerSync parameter is set to off. HealthCheckURI, HealthCheckHttpCode, HealthCheckInterval, HealthCheckTimeout, HealthyThreshold, UnhealthyThreshold: required if HealthCheck is on.',
    check(p) {
      const out: RuleViolation[] = [];
      if (p.ListenerSync === 'off')
        for (const n of ['HealthCheck', 'Scheduler', 'StickySession'])
          if (!has(p, n)) out.push(missing(n, `${n} is required when ListenerSync is off`));
      if (p.HealthCheck === 'on')
        for (const n of [
          'HealthCheckURI',
          'HealthCheckHttpCode',
          'HealthCheckInterval',
          'HealthCheckTimeout',
          'HealthyThreshold',
          'UnhealthyThreshold',
        ])
          if (!has(p, n)) out.push(missing(n, `${n} is required when HealthCheck is on`));
      return out;
    },
  },
  {
    id: 'ResourceId-at-most-20',
    actions: ['ListTagResources', 'TagResources', 'UntagResources'],
    note: 'ResourceId.N: You can specify at most 20 resource IDs. Tag.N: at most 20 tags.',
    check(p) {
      const out: RuleViolation[] = [];
      if (repeatCount(p, 'ResourceId') > 20)
        out.push(invalid('ResourceId', 'at most 20 ResourceId.N per call'));
      if (repeatCount(p, 'Tag') > 20) out.push(invalid('Tag', 'at most 20 Tag.N per call'));
      return out;
    },
  },
];

/** The rules of one action. */
export const rulesFor = (action: string): RequestRule[] =>
  REQUEST_RULES.filter((r) => r.actions.includes(action));
