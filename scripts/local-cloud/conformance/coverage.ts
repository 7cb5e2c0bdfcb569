// Which official actions our own code can send: every action name (as a string literal) in the cloud
// layer's source, matched against the official action lists. Read from the source rather than from a
// hand-kept list, so a new typed action cannot slip past the conformance checks.

import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiModel } from './model';

export const CLOUD_LAYER_DIR = fileURLToPath(new URL('../../../shared/cloud/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `{version, action}` for each official SLB/CAS/DNS action named in shared/cloud/**, sorted. */
export function actionsOurCodeSends(
  versions: readonly string[] = ['2014-05-15', '2020-04-07', '2015-01-09'],
): { version: string; action: string }[] {
  // Alibaba Cloud DNS shares action names with SLB (TagResources, ...): its actions are the ones its
  // own client (dns.ts) names; SLB's and CAS's are named everywhere else.
  const literals = (dns: boolean) => {
    const out = new Set<string>();
    for (const file of sources(CLOUD_LAYER_DIR))
      if (file.endsWith(`${sep}dns.ts`) === dns)
        for (const m of readFileSync(file, 'utf8').matchAll(/'([A-Z][A-Za-z]+)'/g)) out.add(m[1] as string);
    return out;
  };
  return versions.flatMap((version) => {
    const actions = apiModel(version)?.actions ?? {};
    return [...literals(version === '2015-01-09')]
      .filter((name) => name in actions)
      .sort()
      .map((action) => ({ version, action }));
  });
}
