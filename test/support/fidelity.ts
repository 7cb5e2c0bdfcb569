// The local clouds a test file started and has not closed yet, and the check that none of them
// recorded a fidelity warning (a request or answer the official API description does not allow).
// Kept apart from local-cloud.ts so the per-file setup loads nothing heavy.
import type { FidelityWarning } from '../../scripts/local-cloud/conformance/fidelity';

interface WarningSource {
  takeWarnings(): FidelityWarning[];
}

const live = new Set<WarningSource>();

export function trackCloud(cloud: WarningSource): void {
  live.add(cloud);
}

/** Stops tracking a cloud and throws on the warnings it still holds. */
export function untrackCloud(cloud: WarningSource): void {
  live.delete(cloud);
  throwOn(cloud.takeWarnings());
}

function throwOn(warnings: readonly FidelityWarning[]): void {
  if (warnings.length === 0) return;
  const lines = warnings.map((w) => `  ${w.action} ${w.side} ${w.field}: ${w.message}`).join('\n');
  throw new Error(`the local cloud saw what the official API does not allow:\n${lines}`);
}

/** Runs after every test (test/support/setup.ts). */
export function assertNoFidelityWarnings(): void {
  throwOn([...live].flatMap((c) => c.takeWarnings()));
}
