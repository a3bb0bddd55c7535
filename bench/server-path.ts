// The server path against the verifier alone (issue 13, item 5): one tpm_devid attestation (RSA
// DevID, AK, EK under the P-256 DevID CA, the e2e policy) measured in interleaved rounds, 16 in
// flight, on the cached server platform, as
//   - the verifier alone (in-memory session store): the reference;
//   - the verifier with sealed sessions (use-once records in memory): what sealing costs;
//   - the verifier as the server runs it: sealed sessions and the agent's key proof checked in the
//     answer; the app against it is what the server path beyond the verifier costs;
//   - the Hono app in process (app.request), bootstrapped as `vouch server` boots: sealed sessions,
//     the SQLite registry (agents.db, synchronous=FULL), SVID issuance, logging to a discarded sink;
//   - the same app on PostgreSQL (registry and use-once records), against the SQLite app;
//   - over HTTP: one server process (bench/http-server.ts) with the same config, the agent here.
// Each attestation is checked (200 and verdict ok), so only correct work is timed. The challenge's
// randomness repeats (fixedRandom: nonces, secret and seed), so one TPM answer, made once by the
// fixture swtpm, stays valid; session IDs, use-once IDs, IVs and SVID serials stay random. The agent
// signs a fresh key proof for each session (it names the session), as a real agent does.
import { sign } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hono } from 'hono'
import { makeSvidKeyProofMessage, verifySvidKeyProof } from '../core/attestation/svid-key.ts'
import { createAttestationVerifier } from '../core/attestation/verifier.ts'
import { parsePolicyDocument } from '../core/policy/validate.ts'
import type { Platform } from '../core/platform.ts'
import { makeRandomSessionKeyring } from '../core/session/sealed.ts'
import { createMemorySessionStore } from '../core/session/store.ts'
import { createMemoryUseOnceStore } from '../core/session/use-once.ts'
import { parseSubjectPublicKeyInfo } from '../core/x509/spki.ts'
import { loadServerPlatform } from '../runtimes/node/index.ts'
import { parseServerConfig } from '../server/config.ts'
import { bootstrap, type Bootstrapped } from '../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../server/entry/sqlite-wasm.ts'
import { evidenceSet, LiveAgent } from '../test/core/attestation/live-agent.ts'
import { policyDocument } from '../test/e2e/setup.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../test/support/postgres.ts'
import { type Contender, type Measurement, measureInterleaved, pairedRatio } from './harness.ts'
import { attestation, benchAgentAnswer, httpClient, type Send } from './http-bench.ts'
import { spawnBenchServer } from './spawn-server.ts'
import { fixedRandom } from './workloads.ts'

export const SERVER_PATH_ROW = 'server path (verifier, in-process app, PostgreSQL, HTTP)'

export interface ServerPathResult {
  readonly verifier: Measurement
  readonly verifierSealed: Measurement
  readonly app: Measurement
  /** app (sealed, SQLite) / verifier alone */
  readonly appOfVerifier: number
  /** the same app with 4x the agents in flight (the commits' latency shared by more attestations) */
  readonly app4x: Measurement
  readonly app4xOfVerifier: number
  /** verifier with sealed sessions / verifier alone */
  readonly sealedOfVerifier: number
  /**
   * the verifier as the server runs it: sealed sessions and the agent's key proof checked inside
   * the answer (its `svid_key.possession` check); no SVID, framework or database
   */
  readonly verifierKeyProof: Measurement
  readonly keyProofOfVerifier: number
  /** app (sealed, SQLite) / the verifier as the server runs it: what the server path beyond the verifier costs */
  readonly appOfServerVerifier: number
  /** the sealed verifier plus the key proof check and SVID issuance (no framework, no database) */
  readonly verifierSvid: Measurement
  readonly svidOfVerifier: number
  /** the PostgreSQL group: app on PostgreSQL and app on SQLite, measured together */
  readonly postgres?: { readonly pg: Measurement; readonly sqlite: Measurement; readonly pgOfSqlite: number }
  /** why the PostgreSQL group did not run */
  readonly postgresSkipped?: string
  /** the HTTP group: one server process against the same app in process */
  readonly http?: { readonly http: Measurement; readonly inProcess: Measurement; readonly httpOfApp: number }
  readonly httpSkipped?: string
  /** load average (1, 5, 15 min) before and after: the machine is shared */
  readonly loadBefore: readonly number[]
  readonly loadAfter: readonly number[]
}

export interface ServerPathOptions {
  readonly rounds?: number
  readonly sampleMs?: number
  readonly warmupMs?: number
  readonly concurrency?: number
  /** run the HTTP group (Node only: the server child runs with tsx) */
  readonly http?: boolean
  readonly log?: (line: string) => void
}

/** A server config as `vouch server` reads it: sealed sessions (the default), rate limits off (one client, one identity). */
export function serverConfigText(dataDir: string, policy: string, database?: string): string {
  return (
    `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${dataDir}\npolicy: ${policy}\ntls: false\nrateLimit: { enabled: false }\n` +
    (database ? `database: ${database}\n` : '')
  )
}

/** app.request as an agent sends it: JSON with its content-length (what the Node adapter passes on). */
export function inProcess(app: Hono): Send {
  return async (path, body) => {
    const text = JSON.stringify(body)
    const res = await app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
      body: text,
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
}

async function loadAverage(): Promise<number[]> {
  const { loadavg } = await import('node:os')
  return loadavg().map((x) => Math.round(x * 100) / 100)
}

export async function measureServerPath(options: ServerPathOptions = {}): Promise<ServerPathResult> {
  const log = options.log ?? (() => {})
  const concurrency = options.concurrency ?? 16
  const opts = {
    warmupMs: options.warmupMs ?? 2000,
    ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
    ...(options.sampleMs !== undefined ? { sampleMs: options.sampleMs } : {}),
  }
  const loadBefore = await loadAverage()
  const dir = mkdtempSync(join(tmpdir(), 'vouch-server-path-'))
  const policyPath = join(dir, 'policy.json')
  writeFileSync(policyPath, JSON.stringify(policyDocument()))
  const platform: Platform = fixedRandom(await loadServerPlatform())
  const boot = (name: string, database?: string) =>
    bootstrap(parseServerConfig(serverConfigText(join(dir, name), policyPath, database), {}), {
      platform,
      // as the Node entry opens it (server/entry/node.ts): batched writes on the writer thread
      openDatabase: (path, o) => openSqliteWasm(path, { ...o, writerThread: true }),
      write: () => {},
      env: {},
    })
  const started: Bootstrapped[] = []
  let pg: TestPostgres | undefined
  let server: { url: string; stop(): Promise<void> } | undefined
  let client: { close(): void } | undefined
  const agent = await LiveAgent.start('tpm-a')
  try {
    const sqliteApp = await boot('sqlite')
    started.push(sqliteApp)
    const viaSqlite = inProcess(sqliteApp.app)

    // one real answer from the fixture TPM, valid for every later session of any contender
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const { answers, spki, binding, privateKey, body: answerBody } = await benchAgentAnswer(viaSqlite, agent, evidence, 'server path bench')
    const appAttestation = (send: Send) => attestation(send, evidence, answerBody)
    await appAttestation(viaSqlite)()

    // the verifier alone, on the same platform and policy, as the tpm_devid bench rows run it
    const policies = parsePolicyDocument(policyDocument())
    const request = { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } }
    const verifierWith = (v: ReturnType<typeof createAttestationVerifier>) => async () => {
      const s = await v.start(request)
      const verdict = await v.answer(s.sessionId, answers, { binding })
      if (!verdict.ok) throw new Error('server path bench: the verifier refused the answer')
    }
    const memory = createAttestationVerifier({
      policies,
      platform,
      trustDomain: 'example.org',
      sessions: createMemorySessionStore({ now: () => platform.now(), capacity: 64 }),
    })
    const sealed = createAttestationVerifier({
      policies,
      platform,
      trustDomain: 'example.org',
      sealedSessions: { keyring: makeRandomSessionKeyring(platform), useOnce: createMemoryUseOnceStore({ now: () => platform.now() }) },
    })
    // the sealed verifier plus what the answer route adds in crypto: the agent's key proof (signed
    // here, verified by the server) and the X.509-SVID issued by the server CA; no framework, no database
    const svidKey = parseSubjectPublicKeyInfo(new Uint8Array(spki))
    const withKeyProof = async () => {
      const s = await sealed.start(request)
      const proof = sign('sha256', makeSvidKeyProofMessage(s.sessionId, binding), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      const verdict = await sealed.answer(s.sessionId, answers, {
        binding,
        proveKey: async () => {
          await verifySvidKeyProof(svidKey, s.sessionId, binding, proof, platform)
          return 'keyProof verifies'
        },
      })
      if (!verdict.ok) throw new Error('server path bench: the verifier refused the answer')
      return verdict
    }
    const withSvid = async () => {
      const verdict = await withKeyProof()
      await sqliteApp.ca.issueSvid(new Uint8Array(spki), verdict.spiffeId!, 3_600_000)
    }
    const c = (name: string, fn: () => unknown, inFlight = concurrency): Contender => ({ name, fn, concurrency: inFlight })

    log('    verifier alone, sealed, + key proof, + SVID; in-process app (sealed, SQLite; 16 and 64 in flight) ...')
    const [verifier, verifierSealed, verifierKeyProof, verifierSvid, app, app64] = await measureInterleaved(
      [
        c('verifier alone (in-memory sessions)', verifierWith(memory)),
        c('verifier, sealed sessions (use-once in memory)', verifierWith(sealed)),
        c('verifier as the server runs it: sealed, + key proof check', withKeyProof),
        c('verifier, sealed, + key proof and SVID issuance', withSvid),
        c('in-process app (app.request; sealed, SQLite)', appAttestation(viaSqlite)),
        // two durable commits per attestation (the use-once claim, the record): at 16 in flight their
        // latency can bound the rate; more agents in flight share each commit
        c('in-process app, 4x the agents in flight', appAttestation(viaSqlite), concurrency * 4),
      ],
      opts,
    )
    const result: {
      -readonly [K in keyof ServerPathResult]: ServerPathResult[K]
    } = {
      verifier: verifier!,
      verifierSealed: verifierSealed!,
      app: app!,
      appOfVerifier: pairedRatio(app!, verifier!),
      app4x: app64!,
      app4xOfVerifier: pairedRatio(app64!, verifier!),
      sealedOfVerifier: pairedRatio(verifierSealed!, verifier!),
      verifierKeyProof: verifierKeyProof!,
      keyProofOfVerifier: pairedRatio(verifierKeyProof!, verifier!),
      appOfServerVerifier: pairedRatio(app!, verifierKeyProof!),
      verifierSvid: verifierSvid!,
      svidOfVerifier: pairedRatio(verifierSvid!, verifier!),
      loadBefore,
      loadAfter: [],
    }

    const missing = postgresMissing()
    if (missing) {
      result.postgresSkipped = missing
      log(`    PostgreSQL skipped: ${missing}`)
    } else {
      // durable commits, as a production server has them (the tests run PostgreSQL with fsync off)
      pg = await startPostgres({ fsync: true })
      const pgApp = await boot('pg', await pg.createDatabase('vouch_bench'))
      started.push(pgApp)
      const viaPg = inProcess(pgApp.app)
      await appAttestation(viaPg)()
      log('    in-process app on PostgreSQL against SQLite ...')
      const [p, s] = await measureInterleaved(
        [
          c('in-process app, PostgreSQL (registry + use-once)', appAttestation(viaPg)),
          c('in-process app, SQLite', appAttestation(viaSqlite)),
        ],
        opts,
      )
      result.postgres = { pg: p!, sqlite: s!, pgOfSqlite: pairedRatio(p!, s!) }
    }

    if (options.http === false) result.httpSkipped = 'not asked for (--no-http)'
    else {
      const configPath = join(dir, 'http.yaml')
      writeFileSync(configPath, serverConfigText(join(dir, 'http'), policyPath))
      server = await spawnBenchServer('http-server.ts', configPath)
      const overHttp = httpClient(server.url, concurrency)
      client = overHttp
      await appAttestation(overHttp)()
      log('    over HTTP (one server process) against the in-process app ...')
      const [h, a] = await measureInterleaved(
        [c('HTTP, one server process (sealed, SQLite)', appAttestation(overHttp)), c('in-process app, SQLite', appAttestation(viaSqlite))],
        { ...opts, warmupMs: Math.max(opts.warmupMs, options.warmupMs ?? 5000) },
      )
      result.http = { http: h!, inProcess: a!, httpOfApp: pairedRatio(h!, a!) }
    }
    result.loadAfter = await loadAverage()
    return result
  } finally {
    // each step runs whatever the one before did: no server, swtpm or PostgreSQL is left behind
    await agent.stop().catch(() => undefined)
    client?.close()
    await server?.stop().catch(() => undefined)
    for (const b of started) b.close()
    // the PostgreSQL registry closes its pool asynchronously: give it a moment before the server stops
    await new Promise((r) => setTimeout(r, 200))
    try {
      pg?.stop()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
