/** For the server config suites: a minimal valid config, and the ConfigError a text (and environment) gives. */
import { ConfigError, parseServerConfig } from '../../server/config.ts'

export const BASE_CONFIG = 'trustDomain: example.org\ndataDir: /var/lib/vouch\npolicy: /etc/vouch/policy.yaml\n'

/** The ConfigError parsing `yaml` with `env` throws; fails the test when it parses. */
export function configErrorOf(yaml: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseServerConfig(yaml, env)
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  throw new Error('no error')
}
