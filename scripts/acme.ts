// ACME chores for the deployer. `npm run acme -- account-key` prints a new ACME account key (EC P-256,
// PEM) on stdout, to be kept in the deployer's secret store and set as SLB_AUTOPILOT_ACME_ACCOUNT_KEY at
// deploy time. The key names the ACME account: the function finds the account with it, or creates it on
// its first issuance. Nothing is written to disk here; redirect stdout where it belongs.

import { generateKeyPairSync } from 'node:crypto';
import { runMain, UsageError } from './cli';

/** A new EC P-256 private key, PKCS#8 PEM (what acme-client and RFC 8555 JWS ES256 take). */
export function newAccountKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const USAGE = 'usage: npm run acme -- account-key   prints a new ACME account key (EC P-256 PEM) on stdout';

export async function main(
  argv: string[] = process.argv.slice(2),
  out: (s: string) => unknown = (s) => process.stdout.write(s),
): Promise<number> {
  if (argv[0] === 'account-key' && argv.length === 1) {
    out(newAccountKeyPem());
    return 0;
  }
  throw new UsageError(argv.length === 0 ? 'a command is needed' : `unknown command: ${argv.join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) runMain('acme', USAGE, () => main());
