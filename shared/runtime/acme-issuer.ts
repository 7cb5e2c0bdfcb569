// The ACME issuer of the function that issues (cert-renewal) from its environment: its own module, so the
// other functions' bundles reach neither the ACME code nor the DNS API.

import { readFileSync } from 'node:fs';
import { createAcmeIssuer } from '../cloud/acme';
import { Secret } from '../cloud/cas';
import { authoritativeLookup, localCloudLookup } from '../cloud/dns-lookup';
import type { RenewalDeps } from '../workflows/cert-renewal';
import type { FunctionEnv } from './function-env';
import { logLine } from './log';

/**
 * ACME issuance for `acme` sources: the account key from the configuration (a secret variable), the
 * challenge records through Alibaba Cloud DNS, propagation asked of the zone's authoritative servers (the
 * local cloud's DNS server in local runs, where the local CA's front door may be trusted from a file).
 */
export function acmeIssuer(fx: FunctionEnv): RenewalDeps['acme'] {
  const local = fx.config.SLB_AUTOPILOT_LOCAL_CLOUD;
  const key = fx.config.SLB_AUTOPILOT_ACME_ACCOUNT_KEY;
  const trustFile = local ? fx.config.SLB_AUTOPILOT_ACME_CA_TRUST_FILE : undefined;
  return createAcmeIssuer(
    {
      dns: fx.cloud.dns,
      lookup: local ? localCloudLookup(local) : authoritativeLookup(),
      now: () => new Date(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...(trustFile ? { caTrustPem: readFileSync(trustFile, 'utf8') } : {}),
      log: (event) => console.log(logLine('info', 'acme', event)),
    },
    key ? new Secret(key) : undefined,
  );
}
