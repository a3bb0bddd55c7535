// `npm run bench`: attestation throughput of vouch against the native floor (node:crypto on
// pre-decoded keys) and a pkijs baseline, all in one process and one run. The contenders of a row
// are measured in interleaved rounds and compared by the median of per-round ratios, so the
// ratios hold on a noisy shared machine. Writes bench/out/results-<runtime>.json, a table per
// runtime and bench/out/chart.svg (every runtime measured so far); prints a table.
import { constants, createPublicKey, verify } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { createWebCryptoProvider } from '../core/crypto/webcrypto.ts'
import { fromHex } from '../core/bytes/encoding.ts'
import { withPlatform, type Platform } from '../core/platform.ts'
import { parseTpmsAttest } from '../core/tpm2/attest.ts'
import { TPM_ST } from '../core/tpm2/constants.ts'
import { parseTpmtPublic } from '../core/tpm2/public.ts'
import { parseTpmtSignature } from '../core/tpm2/signature.ts'
import { publicKeyFromTpmtPublic } from '../core/tpm2/public-key.ts'
import { publicKeyToJwk } from '../core/crypto/webcrypto.ts'
import { verifyQuote } from '../core/quote/verify.ts'
import { verifyX509Svid } from '../core/svid/x509-svid.ts'
import { verifyJwtSvid } from '../core/svid/jwt-svid.ts'
import { parseSpiffeBundle } from '../core/svid/spiffe-bundle.ts'
import { BundleSet } from '../core/svid/bundle-set.ts'
import { createAttestationCaches } from '../core/attestation/caches.ts'
import { parseCertificate } from '../core/x509/certificate.ts'
import { createNodePlatform, loadKernels } from '../runtimes/node/index.ts'
import { bundleJson, makeJwtAuthority, mintJwtSvid, TestCa, toPemChain } from '../test/support/spiffe-ca.ts'
import { baselineFor } from './baseline.ts'
import { bootFloorFor, floorFor } from './floor.ts'
import { measureInterleaved, pairedRatio, runtimeName, type Contender, type Measurement } from './harness.ts'
import { renderChart, type RunResult } from './chart.ts'
import { attestOnce, BOOT_WORK, buildBootWorkload, buildWorkloads, TPM_DEVID_WORK } from './workloads.ts'
import { measureHttp, type HttpBenchResult } from './http-bench.ts'
import { measureWorkloadApi, type WorkloadBenchResult } from './workload.ts'
import { measureWorkers, workersBenchMissing, type WorkersBenchResult } from './workers-bench.ts'
import { measureServerPath, SERVER_PATH_ROW, type ServerPathResult } from './server-path.ts'

/** Each ratio comes from contenders measured together (one measureInterleaved call). */
export interface RowRatios {
  /** vouch / floor */
  readonly vouch: number
  /** vouch (cached) / floor (cached) */
  readonly cached?: number
  /** vouch Web Crypto only, 16 in flight / floor */
  readonly edge: number
  /** vouch (cached, else plain) / pkijs baseline */
  readonly overBaseline?: number
  /** pkijs baseline / floor */
  readonly baselineOfFloor?: number
}

export interface Row {
  item: string
  floor: Measurement
  floorCached?: Measurement
  baseline?: Measurement
  vouch: Measurement
  vouchCached?: Measurement
  edge: Measurement
  ratios: RowRatios
}

const log = (s: string) => process.stderr.write(s + '\n')
const quick = process.argv.includes('--quick')
/** `--only=<text>`: just the rows whose name contains the text ("HTTP" for the HTTP measurement) */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
const wanted = (item: string) => only === undefined || item.includes(only)

const kernels = await loadKernels()
const node: Platform = createNodePlatform({ kernels })
const nodeCached: Platform = withPlatform(createAttestationCaches(), node)
const edge: Platform = withPlatform({ crypto: createWebCryptoProvider(globalThis.crypto, { kernels }), kernels })
log(
  `vouch bench on ${runtimeName()}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; provider ${node.crypto.name}, kernels ${kernels.kind}, base64 ${node.decodeBase64 ? 'Buffer' : 'core'}; edge path ${edge.crypto.name}`,
)

const rows: Row[] = []
const pct = (x: number | undefined) => (x === undefined ? '-' : `${Math.round(x * 100)}%`)

interface RowContenders {
  floor: Contender
  floorCached?: Contender
  vouch: Contender
  vouchCached?: Contender
  baseline?: Contender
  edge: Contender
}

/**
 * Measures one row in three interleaved groups, each ratio within its group: (1) floor and vouch,
 * cached and not; (2) the pkijs baseline with the floor and vouch, so pkijs' garbage and its major
 * collections stay out of group 1; (3) the Web Crypto path (16 in flight, threadpool work) with
 * the floor. Prints the row's ratios as it completes.
 */
async function measureRow(item: string, c: RowContenders): Promise<void> {
  if (!wanted(item)) return
  log(`  ${item} ...`)
  const opts = quick ? { rounds: 2, sampleMs: 40, warmupMs: 20, warmupOps: 0 } : {}
  const group1 = [c.floor, ...(c.floorCached ? [c.floorCached] : []), c.vouch, ...(c.vouchCached ? [c.vouchCached] : [])]
  const m1 = await measureInterleaved(group1, opts)
  const floor = m1[0]!
  const floorCached = c.floorCached ? m1[1] : undefined
  const vouch = m1[c.floorCached ? 2 : 1]!
  const vouchCached = c.vouchCached ? m1[m1.length - 1] : undefined
  let baseline: Measurement | undefined
  let overBaseline: number | undefined
  let baselineOfFloor: number | undefined
  if (c.baseline) {
    const [f, b, v] = await measureInterleaved([c.floor, c.baseline, c.vouchCached ?? c.vouch], opts)
    baseline = b!
    overBaseline = pairedRatio(v!, b!)
    baselineOfFloor = pairedRatio(b!, f!)
  }
  const [fe, edge] = await measureInterleaved([c.floor, c.edge], opts)
  const ratios: RowRatios = {
    vouch: pairedRatio(vouch, floor),
    ...(vouchCached && floorCached ? { cached: pairedRatio(vouchCached, floorCached) } : {}),
    edge: pairedRatio(edge!, fe!),
    ...(overBaseline !== undefined ? { overBaseline, baselineOfFloor } : {}),
  }
  rows.push({
    item,
    floor,
    ...(floorCached ? { floorCached } : {}),
    ...(baseline ? { baseline } : {}),
    vouch,
    ...(vouchCached ? { vouchCached } : {}),
    edge: edge!,
    ratios,
  })
  log(
    `    vouch ${pct(ratios.vouch)} of the floor; cached ${pct(ratios.cached)} of the cached floor; Web Crypto only ${pct(ratios.edge)}${overBaseline !== undefined ? `; ${Math.round(overBaseline)}x the pkijs baseline` : ''}`,
  )
}
const c = (name: string, fn: () => unknown, concurrency = 1): Contender => ({ name, fn, concurrency })

/** X.509-SVID (P-256 leaf + intermediate) and JWT-SVID (ES256) */
async function svidRows(): Promise<void> {
  const root = TestCa.root('bench.test', 'p256')
  const ca = root.childCa('bench.test')
  const svid = ca.issue('spiffe://bench.test/workload')
  const bundles = new BundleSet([parseSpiffeBundle('bench.test', bundleJson([], [root.cert.der]))])
  const chainPem = toPemChain(svid.chain)
  const leaf = parseCertificate(svid.chain[0]!)
  const inter = parseCertificate(svid.chain[1]!)
  const interKey = createPublicKey({ key: Buffer.from(inter.spki), format: 'der', type: 'spki' })
  const rootKey = createPublicKey({ key: Buffer.from(parseCertificate(root.cert.der).spki), format: 'der', type: 'spki' })
  const x509 = (platform: Platform) => () => verifyX509Svid(chainPem, bundles, { platform })
  await measureRow('X.509-SVID (P-256 leaf + intermediate)', {
    floor: c('floor', () => {
      if (!verify('sha256', leaf.tbsRaw, interKey, leaf.signature) || !verify('sha256', inter.tbsRaw, rootKey, inter.signature))
        throw new Error('floor')
    }),
    floorCached: c('floor, cached intermediate', () => {
      if (!verify('sha256', leaf.tbsRaw, interKey, leaf.signature)) throw new Error('floor')
    }),
    vouch: c('vouch', x509(node)),
    vouchCached: c('vouch, server caches (createAttestationCaches)', x509(nodeCached)),
    edge: c('vouch Web Crypto only, 16 in flight', x509(edge), 16),
  })

  const authority = await makeJwtAuthority('ES256', 'k1')
  const token = await mintJwtSvid(authority, {
    claims: { sub: 'spiffe://bench.test/api', aud: ['bench'], exp: Math.floor(Date.now() / 1000) + 3600 },
  })
  const jwtBundles = new BundleSet([parseSpiffeBundle('bench.test', bundleJson([authority]))])
  const [h, p, s] = token.split('.')
  const jwk = createPublicKey({ key: authority.publicJwk as never, format: 'jwk' })
  const signed = Buffer.from(`${h}.${p}`)
  const sigBytes = Buffer.from(s!, 'base64url')
  await measureRow('JWT-SVID (ES256)', {
    floor: c('floor', () => {
      JSON.parse(Buffer.from(p!, 'base64url').toString())
      if (!verify('sha256', signed, { key: jwk, dsaEncoding: 'ieee-p1363' }, sigBytes)) throw new Error('floor')
    }),
    vouch: c('vouch', () => verifyJwtSvid(token, jwtBundles, { audience: 'bench', platform: node })),
    edge: c('vouch Web Crypto only, 16 in flight', () => verifyJwtSvid(token, jwtBundles, { audience: 'bench', platform: edge }), 16),
  })
}

/** TPM2_Quote: a real GCE vTPM quote over 24 PCRs */
async function quoteRow(): Promise<void> {
  const dir = 'test/vectors/real-tpm/google-go-tpm-tools/derived/gce-cos-85-nonce9009/'
  const f = (p: string) => new Uint8Array(readFileSync(join(dir, p)))
  const pcrs = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).quotes.sha256.pcrs as Record<string, string>
  const ak = parseTpmtPublic(f('ak_pub.tpmt_public.bin'))
  const attestRaw = f('quote_sha256.tpms_attest.bin')
  const sigRaw = f('quote_sha256.tpmt_signature.bin')
  const values = Object.keys(pcrs)
    .sort((a, b) => +a - +b)
    .map((k) => fromHex(pcrs[k]!))
  const quote = (platform: Platform) => async () => {
    const attest = parseTpmsAttest(attestRaw)
    if (attest.type !== TPM_ST.ATTEST_QUOTE) throw new Error('not a quote')
    await verifyQuote(
      { ak: parseTpmtPublic(ak.raw), attest, signature: parseTpmtSignature(sigRaw), nonce: fromHex('9009'), pcrValues: values },
      { platform },
    )
  }
  const key = createPublicKey({ key: publicKeyToJwk(publicKeyFromTpmtPublic(ak)) as never, format: 'jwk' })
  const sig = parseTpmtSignature(sigRaw) as { sig: Uint8Array }
  const concat = Buffer.concat(values)
  const { createHash } = await import('node:crypto')
  await measureRow('TPM2_Quote (GCE vTPM, 24 PCRs)', {
    floor: c('floor', () => {
      if (!verify('sha256', attestRaw, { key, padding: constants.RSA_PKCS1_PADDING }, sig.sig)) throw new Error('floor')
      createHash('sha256').update(concat).digest()
    }),
    vouch: c('vouch', quote(node)),
    edge: c('vouch Web Crypto only, 16 in flight', quote(edge), 16),
  })
}

/** tpm_devid: the four evidence sets (swtpm fixtures, a live fixture TPM answering once) */
async function tpmDevidRows(): Promise<void> {
  if (!TPM_DEVID_WORK.some(wanted)) return
  const { workloads, stop } = await buildWorkloads(node)
  try {
    for (const w of workloads) {
      const floor = floorFor(w)
      await measureRow(w.name, {
        floor: c('floor', floor.full),
        floorCached: c('floor, cached intermediates', floor.cachedIntermediates),
        baseline: c('pkijs baseline', baselineFor(w)),
        vouch: c('vouch', attestOnce(w, node)),
        vouchCached: c('vouch, server caches (createAttestationCaches)', attestOnce(w, nodeCached)),
        edge: c('vouch Web Crypto only, 16 in flight', attestOnce(w, edge), 16),
      })
    }
  } finally {
    await stop()
  }
}

/** tpm_devid with a boot policy: quote, a real 99-event log replayed, boot state and policy */
async function bootRow(): Promise<void> {
  if (!wanted(BOOT_WORK)) return
  const { workload: w, stop } = await buildBootWorkload(node)
  try {
    const floor = bootFloorFor(w)
    await measureRow(w.name, {
      floor: c('floor', floor.full),
      floorCached: c('floor, cached intermediates', floor.cachedIntermediates),
      vouch: c('vouch', attestOnce(w, node)),
      vouchCached: c('vouch, server caches (createAttestationCaches)', attestOnce(w, nodeCached)),
      edge: c('vouch Web Crypto only, 16 in flight', attestOnce(w, edge), 16),
    })
  } finally {
    await stop()
  }
}

// Light rows first: the tpm_devid rows leave a large heap behind (session stores, four platforms,
// the pkijs baseline's garbage), and the X.509-SVID row measured after them ran ~10% slower than
// the same row alone in a process (66% of the floor against 71-79%).
await svidRows()
await quoteRow()
await tpmDevidRows()
await bootRow()

// The server path (issue 13): the verifier alone, the in-process app (sealed, SQLite), PostgreSQL
// against SQLite, HTTP; Node only (the app boots on node:fs, node-sqlite3-wasm and a tsx child)
let serverPath: ServerPathResult | undefined
if (runtimeName().startsWith('node') && wanted(SERVER_PATH_ROW)) {
  log(`  ${SERVER_PATH_ROW} ...`)
  serverPath = await measureServerPath({
    ...(quick ? { rounds: 2, sampleMs: 150, warmupMs: 300 } : {}),
    http: !process.argv.includes('--no-http'),
    log,
  })
  const sp = serverPath
  log(
    `    in-process app ${pct(sp.appOfVerifier)} of the verifier alone (${Math.round(sp.app.opsPerSec)}/s against ${Math.round(sp.verifier.opsPerSec)}/s), ${pct(sp.app4xOfVerifier)} with ${sp.app4x.concurrency} in flight, ${pct(sp.appOfServerVerifier)} of the verifier as the server runs it; sealed sessions alone ${pct(sp.sealedOfVerifier)}, + key proof ${pct(sp.keyProofOfVerifier)}, + SVID ${pct(sp.svidOfVerifier)}` +
      (sp.postgres ? `; PostgreSQL ${pct(sp.postgres.pgOfSqlite)} of SQLite` : `; PostgreSQL skipped (${sp.postgresSkipped})`) +
      (sp.http ? `; HTTP ${pct(sp.http.httpOfApp)} of the in-process app (${Math.round(sp.http.http.opsPerSec)}/s)` : '') +
      `; load average ${sp.loadBefore.join(' ')} -> ${sp.loadAfter.join(' ')}`,
  )
}

// HTTP end to end (Node: the server child runs on Node with tsx)
let http: HttpBenchResult | undefined
if (runtimeName().startsWith('node') && !process.argv.includes('--no-http') && wanted('HTTP end to end')) {
  log('  HTTP end to end (one server process, two round trips per attestation) ...')
  http = await measureHttp(quick ? { rounds: 2, sampleMs: 150, latencyMs: 300, warmupMs: 300, warmupOps: 0 } : {})
  // the HTTP work is the RSA DevID + AK + EK set under the P-256 DevID CA (the e2e policy's)
  const verifierOnly = rows.find((r) => r.item.includes('P-256 DevID CA'))?.vouchCached
  log(
    `    ${Math.round(http.http.opsPerSec)}/s over HTTP, ${Math.round(http.inProcess.opsPerSec)}/s through the same app in process: ${Math.round(http.ratio * 100)}%` +
      (verifierOnly ? `; the verifier alone (cached) did ${Math.round(verifierOnly.opsPerSec)}/s` : ''),
  )
}

// The agent socket: the Workload API (Node: the server child runs on Node with tsx; `--only=workload`)
let workload: WorkloadBenchResult | undefined
if (runtimeName().startsWith('node') && !process.argv.includes('--no-workload') && (wanted('Workload API') || only === 'workload')) {
  log('  Workload API on the agent socket (server in its own process) ...')
  workload = await measureWorkloadApi(quick ? { calls: 300, warmup: 50, rounds: 5 } : {})
  log(
    `    FetchX509SVID round trip p50 ${workload.roundTrip.p50Ms.toFixed(2)} ms, p99 ${workload.roundTrip.p99Ms.toFixed(2)} ms; rotation to ${workload.streams} streams: per stream p50 ${workload.rotationPerStream.p50Ms.toFixed(1)} ms, p99 ${workload.rotationPerStream.p99Ms.toFixed(1)} ms`,
  )
}

// HTTP workers: `vouch server` with 1 and 2 workers on PostgreSQL, the load generator here; at 16
// agents in flight (8 per worker with two), and at 64 (a loaded server: each worker's event loop
// and write batches full), which is the capacity the 2-worker ratio is judged on
const WORKERS_IN_FLIGHT = [16, 64] as const
const workersRuns: WorkersBenchResult[] = []
if (runtimeName().startsWith('node') && !process.argv.includes('--no-http') && wanted('HTTP workers')) {
  const missing = workersBenchMissing()
  if (missing) log(`  HTTP workers: skipped (${missing})`)
  else
    for (const concurrency of WORKERS_IN_FLIGHT) {
      log(`  HTTP workers (vouch server, 1 and 2 workers, sealed sessions on PostgreSQL), ${concurrency} in flight ...`)
      const w = await measureWorkers({
        concurrency,
        ...(quick ? { rounds: 2, sampleMs: 250, warmupMs: 500, warmupOpsPerWorker: 200 } : {}),
      })
      workersRuns.push(w)
      logWorkers(w)
    }
}

function logWorkers(workers: WorkersBenchResult): void {
  const cpu = workers.cpuMsPerAttestation
  log(
    `    1 worker ${Math.round(workers.one.opsPerSec)}/s, 2 workers ${Math.round(workers.two.opsPerSec)}/s: ${workers.ratio.toFixed(2)}x on ${workers.cores} cores` +
      (cpu ? `; server CPU per attestation ${cpu.one.toFixed(2)} ms and ${cpu.two.toFixed(2)} ms` : '') +
      `; the load generator's ${(workers.one.cpuUsPerOp / 1000).toFixed(2)} ms and ${(workers.two.cpuUsPerOp / 1000).toFixed(2)} ms`,
  )
  log(
    `    PostgreSQL transactions per attestation: ${workers.transactionsPerAttestation.one.toFixed(2)} (1 worker), ${workers.transactionsPerAttestation.two.toFixed(2)} (2 workers)`,
  )
  const cap = workers.capacity
  if (cap)
    log(
      `    from the CPU per attestation: the server processes alone on the cores ${Math.round(cap.serverOnly.one)}/s and ${Math.round(cap.serverOnly.two)}/s (${cap.serverOnly.ratio.toFixed(2)}x); ` +
        `with PostgreSQL and the load generator on the same cores and nothing else running ${Math.round(cap.here.one)}/s and ${Math.round(cap.here.two)}/s (${cap.here.ratio.toFixed(2)}x)`,
    )
  const acc = workers.accounting
  if (acc)
    for (const [name, a] of [
      ['1 worker', acc.one],
      ['2 workers', acc.two],
    ] as const)
      log(
        `    ${name}, ms of CPU per attestation (${a.attestations} attestations): server primary ${a.primary.toFixed(2)}, workers ${a.workers.toFixed(2)} (kernel ${a.serverSystem.toFixed(2)} of the two), ` +
          `PostgreSQL backends ${a.postgresBackends.toFixed(2)}, PostgreSQL other ${a.postgresOther.toFixed(2)}, load generator ${a.loadGenerator.toFixed(2)}, ` +
          `other programs ${a.others.toFixed(2)}, idle ${a.idle.toFixed(2)}, steal ${a.steal.toFixed(2)}, of ${a.capacity.toFixed(2)} (${workers.cores} cores x wall time)`,
      )
}

// ------------------------------------------------------------------ report
const fmt = (x: Measurement | undefined) => (x ? `${Math.round(x.opsPerSec).toLocaleString('en-US')}/s` : '-')
const times = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(0)}x`)
const lines = [
  `| work | floor | vouch | vouch / floor | floor (cached int.) | vouch (cached int.) | cached / cached floor | pkijs baseline | vouch (cached) / baseline | Web Crypto only, 16 in flight | edge / floor |`,
  `|---|---|---|---|---|---|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.item} | ${fmt(r.floor)} | ${fmt(r.vouch)} | ${pct(r.ratios.vouch)} | ${fmt(r.floorCached)} | ${fmt(r.vouchCached)} | ${pct(r.ratios.cached)} | ${fmt(r.baseline)} | ${times(r.ratios.overBaseline)} | ${fmt(r.edge)} | ${pct(r.ratios.edge)} |`,
  ),
]
if (http) {
  lines.push(
    '',
    '| HTTP end to end, tpm_devid (RSA DevID, AK, EK; P-256 DevID CA), one server process | attestations/s | share of the same app in process | p50 | p95 | p99 |',
    '|---|---|---|---|---|---|',
  )
  const ms = (x: number) => `${x.toFixed(1)} ms`
  const il = http.inProcessLatency
  lines.push(
    `| 1 in flight, same app in process (no sockets) | ${Math.round(1000 / il.p50Ms)}/s (from p50) | - | ${ms(il.p50Ms)} | ${ms(il.p95Ms)} | ${ms(il.p99Ms)} |`,
  )
  for (const l of http.latency) {
    lines.push(
      `| ${l.concurrency} in flight | ${l.concurrency === http.http.concurrency ? `${Math.round(http.http.opsPerSec).toLocaleString('en-US')}/s (in process: ${Math.round(http.inProcess.opsPerSec).toLocaleString('en-US')}/s)` : `${Math.round((1000 / l.p50Ms) * l.concurrency)}/s (from p50)`} | ${l.concurrency === http.http.concurrency ? `${Math.round(http.ratio * 100)}%` : '-'} | ${ms(l.p50Ms)} | ${ms(l.p95Ms)} | ${ms(l.p99Ms)} |`,
    )
  }
}
if (workload) {
  const ms = (x: number) => `${x.toFixed(2)} ms`
  lines.push(
    '',
    '| Workload API on the agent socket (server in its own process) | samples | p50 | p99 |',
    '|---|---|---|---|',
    `| FetchX509SVID round trip, warm cache, 1 in flight (attested by uid, path, sha256) | ${workload.roundTrip.samples} | ${ms(workload.roundTrip.p50Ms)} | ${ms(workload.roundTrip.p99Ms)} |`,
    `| the same, a new connection per call (connect, SO_PEERCRED, fetch) | ${workload.roundTripNewConnection.samples} | ${ms(workload.roundTripNewConnection.p50Ms)} | ${ms(workload.roundTripNewConnection.p99Ms)} |`,
    `| rotation pushed to ${workload.streams} open streams: each stream's new SVID | ${workload.rotationPerStream.samples} | ${ms(workload.rotationPerStream.p50Ms)} | ${ms(workload.rotationPerStream.p99Ms)} |`,
    `| rotation pushed to ${workload.streams} open streams: until the last stream has it | ${workload.rotationAllStreams.samples} | ${ms(workload.rotationAllStreams.p50Ms)} | ${ms(workload.rotationAllStreams.p99Ms)} |`,
  )
}
for (const workers of workersRuns) lines.push('', ...workersTable(workers))

function workersTable(workers: WorkersBenchResult): string[] {
  const out = [
    `| HTTP workers, tpm_devid, sealed sessions on PostgreSQL, ${workers.concurrency} in flight, ${workers.cores} cores | attestations/s | 2 workers / 1 worker | server CPU per attestation | load generator CPU per attestation |`,
    '|---|---|---|---|---|',
    `| vouch server, 1 worker | ${Math.round(workers.one.opsPerSec).toLocaleString('en-US')}/s | - | ${workers.cpuMsPerAttestation ? `${workers.cpuMsPerAttestation.one.toFixed(2)} ms` : '-'} | ${(workers.one.cpuUsPerOp / 1000).toFixed(2)} ms |`,
    `| vouch server, 2 workers | ${Math.round(workers.two.opsPerSec).toLocaleString('en-US')}/s | ${workers.ratio.toFixed(2)}x | ${workers.cpuMsPerAttestation ? `${workers.cpuMsPerAttestation.two.toFixed(2)} ms` : '-'} | ${(workers.two.cpuUsPerOp / 1000).toFixed(2)} ms |`,
  ]
  const cap = workers.capacity
  const acc = workers.accounting
  if (cap && acc) {
    const other = (a: typeof acc.one) => `${a.others.toFixed(2)} ms`
    out.push(
      `| from the CPU per attestation: the server processes alone on the cores | ${Math.round(cap.serverOnly.one)}/s, ${Math.round(cap.serverOnly.two)}/s | ${cap.serverOnly.ratio.toFixed(2)}x | - | - |`,
      `| the same, with PostgreSQL (${(acc.one.postgresBackends + acc.one.postgresOther).toFixed(2)} ms, ${(acc.two.postgresBackends + acc.two.postgresOther).toFixed(2)} ms) and the load generator on the same cores, nothing else | ${Math.round(cap.here.one)}/s, ${Math.round(cap.here.two)}/s | ${cap.here.ratio.toFixed(2)}x | - | - |`,
      `| other programs' CPU per attestation during the windows | ${other(acc.one)}, ${other(acc.two)} | - | - | - |`,
    )
  }
  return out
}
if (serverPath) {
  const sp = serverPath
  const rate = (m: Measurement) => `${Math.round(m.opsPerSec).toLocaleString('en-US')}/s`
  const cpu = (m: Measurement) => `${Math.round(m.cpuUsPerOp)} µs`
  lines.push(
    '',
    `| server path, tpm_devid (RSA DevID, AK, EK; P-256 DevID CA), 16 in flight | attestations/s | ratio | CPU per attestation |`,
    '|---|---|---|---|',
    `| verifier alone (in-memory sessions) | ${rate(sp.verifier)} | 100% | ${cpu(sp.verifier)} |`,
    `| verifier, sealed sessions | ${rate(sp.verifierSealed)} | ${pct(sp.sealedOfVerifier)} of the verifier | ${cpu(sp.verifierSealed)} |`,
    `| verifier as the server runs it: sealed, + key proof check | ${rate(sp.verifierKeyProof)} | ${pct(sp.keyProofOfVerifier)} of the verifier | ${cpu(sp.verifierKeyProof)} |`,
    `| verifier, sealed, + key proof check and SVID issuance (no framework, no database) | ${rate(sp.verifierSvid)} | ${pct(sp.svidOfVerifier)} of the verifier | ${cpu(sp.verifierSvid)} |`,
    `| in-process app (sealed, SQLite) | ${rate(sp.app)} | ${pct(sp.appOfVerifier)} of the verifier; ${pct(sp.appOfServerVerifier)} of the verifier as the server runs it | ${cpu(sp.app)} |`,
    `| the same app, ${sp.app4x.concurrency} in flight | ${rate(sp.app4x)} | ${pct(sp.app4xOfVerifier)} of the verifier | ${cpu(sp.app4x)} |`,
    sp.postgres
      ? `| in-process app, PostgreSQL (its SQLite twin: ${rate(sp.postgres.sqlite)}) | ${rate(sp.postgres.pg)} | ${pct(sp.postgres.pgOfSqlite)} of SQLite | ${cpu(sp.postgres.pg)} |`
      : `| in-process app, PostgreSQL | skipped: ${sp.postgresSkipped} | - | - |`,
    sp.http
      ? `| HTTP, one server process (in process: ${rate(sp.http.inProcess)}) | ${rate(sp.http.http)} | ${pct(sp.http.httpOfApp)} of the in-process app | - |`
      : `| HTTP | skipped: ${sp.httpSkipped} | - | - |`,
    '',
    `load average ${sp.loadBefore.join(' ')} before, ${sp.loadAfter.join(' ')} after`,
  )
}
console.log(lines.join('\n'))
const meta = {
  runtime: runtimeName(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  date: new Date().toISOString(),
  provider: node.crypto.name,
  kernels: kernels.kind,
  edgeProvider: edge.crypto.name,
  quick,
}
// one results file per runtime; the chart draws every runtime measured so far
const runtime = runtimeName().split(' ')[0]!
mkdirSync('bench/out', { recursive: true })
writeFileSync(
  `bench/out/results-${runtime}.json`,
  JSON.stringify(
    {
      meta,
      rows,
      ...(http ? { http } : {}),
      ...(workload ? { workload } : {}),
      // the first at 16 in flight, then the loaded server (64)
      ...(workersRuns.length > 0 ? { workers: workersRuns[0], workersLoaded: workersRuns[1] } : {}),
      ...(serverPath ? { serverPath } : {}),
    },
    null,
    1,
  ),
)
writeFileSync(`bench/out/table-${runtime}.md`, `${JSON.stringify(meta)}\n\n${lines.join('\n')}\n`)
const runs: RunResult[] = readdirSync('bench/out')
  .filter((f) => /^results-\w+\.json$/.test(f))
  .sort()
  .map((f) => JSON.parse(readFileSync(join('bench/out', f), 'utf8')) as RunResult)
  .filter((r) => {
    // results written before rows carried their ratios are left out of the chart (run that runtime again)
    const current = r.rows.every((row) => row.ratios !== undefined)
    if (!current) log(`chart: skipping ${r.meta.runtime} (${r.meta.date}): an older results format`)
    return current
  })
writeFileSync('bench/out/chart.svg', renderChart(runs))
log(
  `wrote bench/out/results-${runtime}.json, bench/out/table-${runtime}.md, bench/out/chart.svg (${runs.map((r) => r.meta.runtime).join(', ')})`,
)
