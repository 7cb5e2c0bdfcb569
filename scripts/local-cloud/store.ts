// Persistence of the local cloud's state: loaded once at start, saved atomically (temp file in the
// same directory, fsync, rename) after each successful write, so a crash never leaves half a file.
// The file holds private keys (the TLS front ends need them), so it is created 0600.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type CloudState, emptyState } from './state';

export function loadStateFile(path: string): CloudState | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CloudState>;
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.loadBalancers)) {
    throw new Error(`${path}: not a local-cloud state file`);
  }
  // Files written by older versions may lack newer collections.
  return { ...emptyState(), ...parsed };
}

export function saveStateFile(path: string, state: CloudState): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state, null, 1));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The state as the admin API shows it: private keys replaced. */
export function redactState(state: CloudState): CloudState {
  return {
    ...state,
    serverCertificates: state.serverCertificates.map((c) => ({ ...c, privateKeyPem: '[redacted]' })),
    casCertificates: state.casCertificates.map((c) => ({ ...c, keyPem: '[redacted]' })),
  };
}
