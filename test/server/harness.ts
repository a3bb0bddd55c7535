/** An in-process server (createApp) on the fixture policies, with a settable clock and captured logs. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAttestationVerifier } from '../../core/attestation/verifier.ts'
import { withPlatform } from '../../core/platform.ts'
import type { PolicySet } from '../../core/policy/types.ts'
import { createApp } from '../../server/app.ts'
import type { ClientAddressOf } from '../../server/client-address.ts'
import type { RateLimitConfig } from '../../server/limits-config.ts'
import { ServerCa } from '../../server/ca/authority.ts'
import { openSqliteWasm } from '../../server/entry/sqlite-wasm.ts'
import { createJsonLogger } from '../../server/logging.ts'
import { Metrics } from '../../server/metrics.ts'
import { AgentRegistry } from '../../server/registry/registry.ts'
import { createMemorySessionStore, type SessionValue } from '../../core/session/store.ts'
import { DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, policies } from '../core/attestation/fixtures.ts'

export const TRUST_DOMAIN = 'example.org'
export const TEMPLATE = '/agent/tpm_devid/{{tpm_devid.certificate.serial_number}}'

export function fixturePolicies(): PolicySet {
  return policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }, { spiffeIDTemplate: TEMPLATE }))
}

export async function makeTestServer(
  opts: {
    policies?: PolicySet
    maxBodyBytes?: number
    dataDir?: string
    rateLimit?: RateLimitConfig
    clientAddress?: ClientAddressOf
  } = {},
) {
  const clock = { offset: 0 }
  const platform = withPlatform({ now: () => Date.now() + clock.offset })
  const logs: Record<string, unknown>[] = []
  const logger = createJsonLogger(
    (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    () => platform.now(),
  )
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'vouch-server-'))
  const registry = new AgentRegistry(openSqliteWasm(join(dataDir, 'agents.db')))
  const sessions = createMemorySessionStore<SessionValue>({ now: () => platform.now() })
  const verifier = createAttestationVerifier({
    policies: opts.policies ?? fixturePolicies(),
    sessions,
    platform,
    trustDomain: TRUST_DOMAIN,
  })
  const { ca } = await ServerCa.create(TRUST_DOMAIN, platform, globalThis.crypto.subtle)
  const metrics = new Metrics()
  const app = createApp({
    trustDomain: TRUST_DOMAIN,
    verifier,
    sessions,
    ca,
    registry,
    platform,
    logger,
    metrics,
    svidTtlMs: 3_600_000,
    ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.clientAddress ? { clientAddress: opts.clientAddress } : {}),
  })
  return { app, ca, registry, sessions, logs, metrics, clock, platform, dataDir }
}

export function postJson(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  path: string,
  body: unknown,
) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}
