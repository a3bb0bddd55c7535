// What the agent suites share: an Io that records what a CLI command prints, and a vouch server on
// 127.0.0.1 (TLS from its own CA, trust domain example.org) under one AgentAttestation policy.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { Io } from '../../cli/command.ts'
import { parseServerConfig } from '../../server/config.ts'
import { type RunningServer, startNodeServer } from '../../server/entry/node.ts'

/** An Io whose lines are kept in `outs` and `errs`. */
export function capture(): Io & { outs: string[]; errs: string[] } {
  const outs: string[] = []
  const errs: string[] = []
  return { outs, errs, out: (l) => outs.push(l), err: (l) => errs.push(l) }
}

/**
 * Writes `dir/policy.yaml` with these policies and starts a server on it: data in `dir/server`,
 * its CA (for the agent's trustBundlePath) at `dir/server/ca/ca.pem`. `extra` adds config keys.
 */
export async function startPolicyServer(
  dir: string,
  policies: readonly Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<RunningServer> {
  const policy = join(dir, 'policy.yaml')
  await writeFile(policy, stringify({ section: 'AgentAttestation', schema: 'v1', spec: { policies } }))
  const config = { trustDomain: 'example.org', listen: '127.0.0.1:0', dataDir: join(dir, 'server'), policy, tls: true, ...extra }
  return startNodeServer(parseServerConfig(stringify(config)), { write: () => {} })
}
