// `npm run acme -- account-key`: a new EC P-256 account key, PEM, on stdout (the function's
// SLB_AUTOPILOT_ACME_ACCOUNT_KEY); anything else is a usage error. That Pebble takes the key as an ACME
// account key is shown in test/function/acme-renewal.test.ts, which issues with one.
import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { main, newAccountKeyPem } from '../../../scripts/acme';
import { UsageError } from '../../../scripts/cli';

describe('npm run acme', () => {
  it('account-key prints a fresh EC P-256 private key in PEM, a new one each time', async () => {
    let printed = '';
    expect(await main(['account-key'], (s) => (printed += s))).toBe(0);
    const key = createPrivateKey(printed);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(printed).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    expect(newAccountKeyPem()).not.toBe(printed);
  });

  it.each([[[]], [['account-key', 'extra']], [['rotate']]])('refuses %o with the usage', async (argv) => {
    await expect(main(argv, () => {})).rejects.toBeInstanceOf(UsageError);
  });
});
