// Where the local cloud's initial state comes from: a named scenario or a JSON state file.

import { existsSync } from 'node:fs';
import { type CloudState, emptyState } from '../state';
import { loadStateFile } from '../store';

export const SCENARIOS = ['mall', 'mall-unprovisioned', 'empty'] as const;

export async function loadScenario(nameOrFile: string, now: Date): Promise<CloudState> {
  if (nameOrFile === 'empty') return emptyState();
  if (nameOrFile === 'mall') {
    const { mallScenario } = await import('./mall');
    return mallScenario(now);
  }
  if (nameOrFile === 'mall-unprovisioned') {
    // The mall's servers and its certificates in CAS, but no load balancer yet: what `apply` starts from.
    const { mallScenario } = await import('./mall');
    return {
      ...(await mallScenario(now)),
      loadBalancers: [],
      listeners: [],
      vServerGroups: [],
      serverCertificates: [],
      domainExtensions: [],
      rules: [],
    };
  }
  if (!existsSync(nameOrFile)) {
    throw new Error(`scenario ${nameOrFile}: neither a known scenario (${SCENARIOS.join(', ')}) nor a file`);
  }
  try {
    return loadStateFile(nameOrFile) ?? emptyState();
  } catch (err) {
    throw new Error(`scenario ${nameOrFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
