// The specs a chaos run applies: examples/mall.yaml and variants of it. Moving between them creates and
// drops resources we own (a listener and a group), adds and drops an extension domain, and changes
// weights, which is where ownership, ordering and idempotence get tested.

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseSpec, type Spec } from '../../shared/domain/spec';
import { MALL } from '../local-cloud/scenarios/mall-fixture';

export const VARIANTS = ['mall', 'mall+canary', 'mall+extension', 'mall+weights'] as const;
export type Variant = (typeof VARIANTS)[number];

/** The listener and group the canary variant creates (ours), dropped by every other variant. */
export const CANARY = { listenerPort: 8080, groupName: 'canary' } as const;
export const EXTRA_EXTENSION_DOMAIN = 'www.mall.example.com';

interface RawListener {
  protocol: string;
  port: number;
  extensionDomains?: unknown[];
  [k: string]: unknown;
}
interface RawSpec {
  loadBalancers: {
    vServerGroups: { name: string; backends: { serverId: string; weight: number }[] }[];
    listeners: RawListener[];
  }[];
}

const MALL_YAML = new URL('../../examples/mall.yaml', import.meta.url);

/** The mall with an ownership marker naming the hand-made team=web resources: what a hostile caller sends. */
export function hostileSpecText(): string {
  const raw = parse(readFileSync(MALL_YAML, 'utf8')) as Record<string, unknown>;
  return JSON.stringify({ ...raw, ownership: { tagKey: 'team', tagValue: 'web', namePrefix: 'web-' } });
}

function variantText(variant: Variant): string {
  const raw = parse(readFileSync(MALL_YAML, 'utf8')) as RawSpec;
  const lb = raw.loadBalancers[0];
  if (!lb) throw new Error(`${MALL_YAML}: no load balancer`);
  if (variant === 'mall+canary') {
    lb.vServerGroups.push({
      name: CANARY.groupName,
      backends: [{ serverId: MALL.ecs.serverId, port: MALL.ecs.port, weight: 100 } as never],
    });
    lb.listeners.push({ protocol: 'http', port: CANARY.listenerPort, vServerGroup: CANARY.groupName });
  }
  if (variant === 'mall+extension') {
    const https = lb.listeners.find((l) => l.protocol === 'https');
    https?.extensionDomains?.push({
      domain: EXTRA_EXTENSION_DOMAIN,
      certificate: { cas: { domain: EXTRA_EXTENSION_DOMAIN } },
    });
  }
  if (variant === 'mall+weights') {
    for (const b of lb.vServerGroups[0]?.backends ?? [])
      b.weight = b.serverId === MALL.k8s.serverId ? 80 : 20;
  }
  return JSON.stringify(raw);
}

const cache = new Map<Variant, Spec>();

export function specOf(variant: Variant): Spec {
  let spec = cache.get(variant);
  if (!spec) {
    spec = parseSpec(variantText(variant), { format: 'json', source: `chaos:${variant}` });
    cache.set(variant, spec);
  }
  return spec;
}
