// Our own cloud layer pointed at a running local cloud (npm start, the benchmark, tests).
import { CallAccounting } from '../../shared/cloud/accounting';
import { staticCredentials } from '../../shared/cloud/credentials';
import { type Cloud, type CloudOptions, createCloud } from '../../shared/cloud/index';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, type LocalCloud } from './server';

export function connectLocalCloud(
  local: Pick<LocalCloud, 'endpoint'>,
  options: Omit<CloudOptions, 'target'> & { accessKeyId?: string; accessKeySecret?: string } = {},
): Cloud {
  const {
    accessKeyId = DEFAULT_ACCESS_KEY_ID,
    accessKeySecret = DEFAULT_ACCESS_KEY_SECRET,
    ...rest
  } = options;
  return createCloud({
    target: {
      kind: 'local',
      endpoint: local.endpoint,
      credentials: staticCredentials({ accessKeyId, accessKeySecret }),
    },
    accounting: new CallAccounting(),
    ...rest,
  });
}
