// Which cloud a function talks to: the local cloud when SLB_AUTOPILOT_LOCAL_CLOUD is set (local runs and
// tests), otherwise the real one with the STS credentials FC puts in `context.credentials`.

import { credentialsFromFcContext, resolveCloudTarget } from '../cloud/credentials';
import { type Cloud, type CloudOptions, createCloud } from '../cloud/index';
import type { FcContext } from './fc-events';

export function cloudFromContext(
  context: Pick<FcContext, 'credentials'>,
  env: Record<string, string | undefined>,
  options: Omit<CloudOptions, 'target'> = {},
): Cloud {
  if (env.SLB_AUTOPILOT_LOCAL_CLOUD) return createCloud({ ...options, target: resolveCloudTarget(env) });
  return createCloud({
    ...options,
    target: { kind: 'cloud', credentials: credentialsFromFcContext(context) },
  });
}
