import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mallScenario } from '../../../scripts/local-cloud/scenarios/mall';
import {
  acmeDirectoryOf,
  LETS_ENCRYPT_DIRECTORY,
  LETS_ENCRYPT_STAGING_DIRECTORY,
  parseDuration,
  parseSpec,
  SpecError,
} from '../../../shared/domain/spec';

const mallYaml = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'mall.yaml'), 'utf8');

function issues(text: string): { path: string; message: string }[] {
  try {
    parseSpec(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as SpecError).issues;
  }
  throw new Error('expected a SpecError');
}

// biome-ignore lint/suspicious/noExplicitAny: the bad-spec table edits the raw YAML tree freely
type Raw = any;

/** The mall spec with one change made through the parsed YAML object. */
function mallWith(change: (spec: Raw) => void): string {
  const spec = JSON.parse(JSON.stringify(parseSpecRaw()));
  change(spec);
  return JSON.stringify(spec);
}
const parseSpecRaw = (): Raw => parseYaml(mallYaml);

describe('ownership', () => {
  it('is the deployment’s configuration: a spec that sets it is refused, naming the field', () => {
    const text = mallWith((s) => {
      s.ownership = { tagKey: 'team', tagValue: 'web' };
    });
    expect(issues(text)).toEqual([
      {
        path: 'ownership',
        message:
          "set by the deployment's configuration, not the spec (SLB_AUTOPILOT_OWNER_TAG_KEY, SLB_AUTOPILOT_NAME_PREFIX, SLB_AUTOPILOT_DEPLOYMENT_ID)",
      },
    ]);
  });

  it('elsewhere in the spec it is just an unknown field', () => {
    const text = mallWith((s) => {
      s.loadBalancers[0].ownership = {};
    });
    expect(issues(text)).toEqual([{ path: 'loadBalancers[0].ownership', message: 'is not a known field' }]);
  });
});

describe('examples/mall.yaml', () => {
  it('parses, with defaults filled in and durations in seconds', () => {
    const spec = parseSpec(mallYaml);
    expect(spec.failover).toMatchObject({
      failbackAfter: 300,
      window: 1800,
      primaryWeight: 100,
      standbyWeight: 0,
    });
    expect(spec).not.toHaveProperty('ownership');
  });

  it('describes exactly the mall the local cloud starts with', async () => {
    const spec = parseSpec(mallYaml);
    const state = await mallScenario(new Date());
    const lb = spec.loadBalancers[0]!;
    const cloudLb = state.loadBalancers[0]!;
    expect(lb.id).toBe(cloudLb.loadBalancerId);
    expect(spec.region).toBe(cloudLb.regionId);

    const group = state.vServerGroups[0]!;
    expect(lb.vServerGroups.map((g) => g.name)).toEqual([group.vServerGroupName]);
    expect(lb.vServerGroups[0]!.backends.map((b) => [b.serverId, b.port, b.weight, b.description])).toEqual(
      group.backendServers.map((b) => [b.serverId, b.port, b.weight, b.description]),
    );

    const https = lb.listeners.find((l) => l.protocol === 'https')!;
    const cloudHttps = state.listeners.find((l) => l.listenerProtocol === 'https')!;
    if (https.protocol !== 'https') throw new Error('unreachable');
    expect(https.port).toBe(cloudHttps.listenerPort);
    const hc = https.healthCheck!;
    expect({
      healthCheck: hc.enabled ? 'on' : 'off',
      healthCheckURI: hc.path,
      healthCheckInterval: hc.interval,
      healthyThreshold: hc.healthyThreshold,
      unhealthyThreshold: hc.unhealthyThreshold,
      healthCheckTimeout: hc.timeout,
      healthCheckHttpCode: hc.httpCodes.join(','),
      healthCheckMethod: hc.method,
    }).toEqual(cloudHttps.healthCheck);
    const cert = state.serverCertificates.find(
      (c) => c.serverCertificateId === cloudHttps.serverCertificateId,
    )!;
    expect(cert.subjectAlternativeNames).toEqual(https.domains);
    expect(https.extensionDomains.map((d) => d.domain)).toEqual(state.domainExtensions.map((d) => d.domain));

    const http = lb.listeners.find((l) => l.protocol === 'http')!;
    const cloudHttp = state.listeners.find((l) => l.listenerProtocol === 'http')!;
    if (http.protocol !== 'http') throw new Error('unreachable');
    expect([http.port, http.redirectToHttps?.port]).toEqual([cloudHttp.listenerPort, cloudHttp.forwardPort]);
  });
});

describe('bad specs', () => {
  it.each([
    [
      'loadBalancers[0].listeners[0].healthCheck.interval',
      (s: Raw) => (s.loadBalancers[0].listeners[0].healthCheck.interval = 51),
    ],
    [
      'loadBalancers[0].vServerGroups[0].backends[1].weight',
      (s: Raw) => (s.loadBalancers[0].vServerGroups[0].backends[1].weight = 101),
    ],
    ['loadBalancers[0].listeners[0].port', (s: Raw) => (s.loadBalancers[0].listeners[0].port = 0)],
    [
      'loadBalancers[0].listeners[0].certificate',
      (s: Raw) => (s.loadBalancers[0].listeners[0].certificate = { pem: { cert: 'x', key: 'inline-key' } }),
    ],
    [
      'loadBalancers[0].listeners[0].vServerGroup',
      (s: Raw) => (s.loadBalancers[0].listeners[0].vServerGroup = 'nope'),
    ],
    [
      'loadBalancers[0].listeners[1].redirectToHttps.port',
      (s: Raw) => (s.loadBalancers[0].listeners[1].redirectToHttps.port = 8443),
    ],
    ['loadBalancers[0].listeners[1].port', (s: Raw) => (s.loadBalancers[0].listeners[1].port = 443)],
    [
      'loadBalancers[0].vServerGroups[0].backends[1]',
      (s: Raw) =>
        Object.assign(s.loadBalancers[0].vServerGroups[0].backends[1], {
          port: 30250,
          serverId: 'i-bp1k8snode000000001',
        }),
    ],
    ['loadBalancers[0]', (s: Raw) => (s.loadBalancers[0].create = { addressType: 'internet' })],
    ['failover.failbackAfter', (s: Raw) => (s.failover.failbackAfter = '2d')],
    ['region', (s: Raw) => (s.region = 'Hangzhou')],
    [
      'loadBalancers[0].listeners[0].extensionDomains',
      (s: Raw) =>
        s.loadBalancers[0].listeners[0].extensionDomains.push(
          ...['a', 'b', 'c'].map((x) => ({
            domain: `${x}.mall.example.com`,
            certificate: { cas: { domain: 'x.example.com' } },
          })),
        ),
    ],
    ['loadBalancers[0].unknownField', (s: Raw) => (s.loadBalancers[0].unknownField = 1)],
  ])('names %s', (path, change) => {
    const found = issues(mallWith(change));
    expect(found.map((i) => i.path)).toContain(path);
  });

  it.each(['/hz?x=1', '/health_z', 'healthz', '//'.padEnd(82, 'a')])(
    'refuses health-check path %s with the official characters in the message',
    (path) => {
      const found = issues(mallWith((s) => (s.loadBalancers[0].listeners[0].healthCheck.path = path)));
      expect(found).toEqual([
        {
          path: 'loadBalancers[0].listeners[0].healthCheck.path',
          message: expect.stringContaining('letters, digits and - / . % ? # & only'),
        },
      ]);
    },
  );

  it.each(['/', '/ready?probe&full', '/a-b/c.html#x', '/%7Euser'])('accepts health-check path %s', (path) => {
    const spec = parseSpec(mallWith((s) => (s.loadBalancers[0].listeners[0].healthCheck.path = path)));
    expect(spec.loadBalancers[0]?.listeners[0]?.healthCheck?.path).toBe(path);
  });

  it('reports every problem at once', () => {
    const found = issues(
      mallWith((s) => {
        s.region = 'x';
        s.loadBalancers[0].listeners[0].healthCheck.timeout = 0;
        s.loadBalancers[0].vServerGroups[0].backends[0].weight = -1;
      }),
    );
    expect(found.map((i) => i.path).sort()).toEqual(
      [
        'loadBalancers[0].listeners[0].healthCheck.timeout',
        'loadBalancers[0].vServerGroups[0].backends[0].weight',
        'region',
      ].sort(),
    );
  });

  it('says when the text is not YAML at all, and the message names the source', () => {
    expect(() => parseSpec('a: [', { source: 'x.yaml' })).toThrow(
      /x.yaml is not valid:\n {2}\(root\): cannot be parsed/,
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['5m', 300],
    ['2h', 7200],
    ['5', undefined],
    ['1d', undefined],
  ])('%s -> %s', (text, seconds) => expect(parseDuration(text)).toBe(seconds));
});

describe('field and cross-field problems together', () => {
  it('reports a dangling reference alongside a range error', () => {
    const found = issues(
      mallWith((s) => {
        s.loadBalancers[0].listeners[0].healthCheck.interval = 0;
        s.loadBalancers[0].listeners[0].vServerGroup = 'missing-group';
      }),
    );
    expect(found.map((i) => i.path).sort()).toEqual(
      [
        'loadBalancers[0].listeners[0].healthCheck.interval',
        'loadBalancers[0].listeners[0].vServerGroup',
      ].sort(),
    );
  });
});

describe('acme certificate source', () => {
  const withAcme = (acme: unknown) =>
    mallWith((s) => {
      s.loadBalancers[0].listeners[0].certificate = { acme };
    });
  const at = 'loadBalancers[0].listeners[0].certificate.acme';

  it('defaults: Let’s Encrypt production, dns-01, an EC P-256 key, the reference’s domains', () => {
    const spec = parseSpec(withAcme({ email: 'ops@mall.example.com' }));
    const l = spec.loadBalancers[0]?.listeners[0];
    expect(l?.protocol === 'https' && l.certificate).toEqual({
      acme: { email: 'ops@mall.example.com', challenge: 'dns-01', keyType: 'ec-p256' },
    });
    expect(acmeDirectoryOf({})).toBe(LETS_ENCRYPT_DIRECTORY);
    expect(acmeDirectoryOf({ staging: true })).toBe(LETS_ENCRYPT_STAGING_DIRECTORY);
    expect(acmeDirectoryOf({ directory: 'https://ca.example/dir', staging: false })).toBe(
      'https://ca.example/dir',
    );
  });

  it('takes every field: directory, domains with a wildcard, a pinned zone, RSA, EAB', () => {
    const acme = {
      directory: 'https://acme.zerossl.com/v2/DV90',
      domains: ['*.mall.example.com', 'mall.example.com'],
      dnsZone: 'example.com',
      keyType: 'rsa-2048',
      challenge: 'dns-01',
      eab: { kid: 'kid-1', hmacKeyEnv: 'ZEROSSL_EAB_HMAC' },
    };
    const l = parseSpec(withAcme(acme)).loadBalancers[0]?.listeners[0];
    expect(l?.protocol === 'https' && l.certificate).toEqual({ acme });
  });

  it.each<[unknown, { path: string; message: string }[]]>([
    [{ keyType: 'rsa-4096' }, [{ path: `${at}.keyType`, message: 'must be ec-p256 or rsa-2048' }]],
    [
      { challenge: 'http-01' },
      [{ path: `${at}.challenge`, message: 'must be dns-01 (the only challenge supported)' }],
    ],
    [
      { directory: 'http://ca.example/dir' },
      [{ path: `${at}.directory`, message: 'must be an https:// URL' }],
    ],
    [
      { directory: 'https://ca.example/dir', staging: true },
      [
        {
          path: `${at}.staging`,
          message:
            "staging picks the Let's Encrypt staging directory: give either directory or staging, not both",
        },
      ],
    ],
    [{ email: 'nope' }, [{ path: `${at}.email`, message: 'must be an email address' }]],
    [
      { eab: { kid: 'k' } },
      [{ path: `${at}.eab.hmacKeyEnv`, message: 'must name the environment variable holding the HMAC key' }],
    ],
    [
      { eab: { kid: 'k', hmacKey: 'inline' } },
      [
        { path: `${at}.eab.hmacKeyEnv`, message: 'must name the environment variable holding the HMAC key' },
        { path: `${at}.eab`, message: 'must be {kid, hmacKeyEnv}' },
      ],
    ],
    [{ domains: [] }, [{ path: `${at}.domains`, message: 'must name at least one domain' }]],
    [{ accountKey: 'x' }, [{ path: `${at}.accountKey`, message: 'is not a known field' }]],
  ])('refuses %o, naming the field', (acme, expected) => {
    expect(issues(withAcme(acme))).toEqual(expected);
  });
});
