// --state: every resource survives a restart, written atomically with owner-only permissions.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { cloudLayerFor, startTestCloud } from '../support/local-cloud';

const dir = mkdtempSync(join(tmpdir(), 'slbap-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('state persistence', () => {
  it('reloads what was written before the restart, not the scenario', async () => {
    const statePath = join(dir, 'cloud.json');
    const first = await startTestCloud({ scenario: 'mall', statePath });
    await cloudLayerFor(first).slb.setVServerGroupAttribute({
      regionId: MALL.regionId,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      backendServers: [
        { serverId: MALL.k8s.serverId, port: 30250, weight: 0 },
        { serverId: MALL.ecs.serverId, port: 8050, weight: 100 },
      ],
    });
    const before = first.state();
    await first.close();
    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['cloud.json']); // no temp file left behind

    const second = await startTestCloud({ scenario: 'mall', statePath });
    try {
      expect(second.state()).toEqual(before);
      expect(second.state().vServerGroups[0]?.backendServers.map((b) => b.weight)).toEqual([0, 100]);
    } finally {
      await second.close();
    }
  });
});
