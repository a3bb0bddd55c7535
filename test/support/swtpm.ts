/**
 * swtpm test harness: starts real software TPM 2.0 instances (swtpm 0.7.1) for vitest suites.
 *
 *   const tpm = await startSwtpm()            // fresh TPM: fresh seeds, RSA-2048 + P-384 EK certs
 *   const tpm = await startSwtpm({ eccP256EkCert: true })   // + P-256 EK cert at NV 0x01c0000a
 *   const tpm = await startFixtureTpm('tpm-a') // the TPM behind test/vectors/swtpm (same EK, same SRK)
 *   ... tpm2-tools with { env: tpm.env } or test/support/tpm2-tools.ts ...
 *   await tpm.stop()                           // kills the daemon by pid, removes the temp dir
 *
 * Every instance lives in its own temp dir under os.tmpdir() (state, configs, tpm2-tools contexts) and
 * listens on two kernel-chosen free ports (bind failures are retried, so parallel workers are safe).
 * EK certificates are issued by swtpm_localca from a per-instance config (no /etc edits,
 * toolchain-lab.md §2) with a local CA (RSA-3072 root "swtpm-localca-rootca" + intermediate
 * "swtpm-localca") that is created once and shared by all instances in a cached dir
 * (VOUCH_LOCALCA_DIR or os.tmpdir()/vouch-localca-<uid>); every swtpm_localca call runs under
 * flock(1) on that dir, because the CA creation and its serial counter are not concurrency-safe.
 *
 * swtpm serves one TCP client at a time and has 3 transient object slots with no resource manager:
 * flush after each step (tpm2-tools.ts does).
 */
import { execFile, type ExecFileOptions } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePortPair } from './free-port.ts'

/** NV indices (TCG EK Credential Profile 2.0 §2.2.1.5 + swtpm 0.7.1 placement, toolchain-lab.md §2). */
export const NV_EK_CERT_RSA = 0x01c00002
export const NV_EK_CERT_ECC_P256 = 0x01c0000a
export const NV_EK_CERT_ECC_P384_SWTPM = 0x01c00016
export const NV_PLATFORM_CERT_SWTPM = 0x01c08000

export interface LocalCa {
  dir: string
  rootCertPath: string
  intermediateCertPath: string
  rootPem: string
  intermediatePem: string
}

export interface Swtpm {
  name: string
  /** TPM data port (raw TPM command framing or the `swtpm:` TCTI) */
  port: number
  /** swtpm control channel (always port + 1: the `swtpm:` TCTI assumes it) */
  ctrlPort: number
  /** temp root of this instance: state/, conf/, work/ */
  dir: string
  stateDir: string
  /** scratch dir for tpm2-tools context files and outputs of this instance */
  workDir: string
  tcti: string
  /** process.env + TPM2TOOLS_TCTI for tpm2-tools */
  env: NodeJS.ProcessEnv
  pid: number
  /** the CA that issued the EK certificates (root + intermediate PEM) */
  ekCa: LocalCa
  /** = ekCa.dir */
  ekCaDir: string
  /** kill by pid and remove dir (unless keepDir) */
  stop(opts?: { keepDir?: boolean }): Promise<void>
  /** kill the daemon but keep the state dir; `restart()` brings the same TPM back (PCRs reset) */
  restart(): Promise<void>
}

export interface StartSwtpmOptions {
  /** provision RSA-2048 (0x01c00002) and P-384 (0x01c00016) EK certs; default true */
  ekCert?: boolean
  /** also provision a P-256 EK cert at 0x01c0000a for the default `tpm2_createek -G ecc` key; default false */
  eccP256EkCert?: boolean
  /** swtpm_localca platform cert at 0x01c08000; default false */
  platformCert?: boolean
  /** persistent SRK at 0x81000001 (swtpm_setup --create-spk); default false */
  createSpk?: boolean
  /** RSA EK size: 3072 puts the high-range RSA-3072 EK cert at 0x01c0001c instead of RSA-2048 at 0x01c00002; default 2048 */
  rsaKeySize?: 2048 | 3072
  /** label used in the temp dir name */
  name?: string
  /** CA dir for swtpm_localca; default the shared cached dir (see localCaDir()) */
  caDir?: string
  /** parent dir for the instance temp dir; default os.tmpdir() */
  tmpRoot?: string
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** committed fixture TPM states and their CA (scripts/make-fixtures.sh) */
export const FIXTURE_DIR = join(REPO_ROOT, 'test', 'vectors', 'swtpm')

const live = new Map<number, string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const [pid, dir] of live) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        /* already gone */
      }
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {
        /* best effort */
      }
    }
  })
}

export class CommandError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${file} ${args.join(' ')} failed (exit ${String(code)}): ${stderr.trim() || stdout.trim() || 'no output'}`)
    this.name = 'CommandError'
  }
}

export interface RunResult {
  stdout: string
  stderr: string
}

/** execFile that rejects with a CommandError carrying stderr. Output is treated as text. */
export function run(file: string, args: readonly string[], opts: ExecFileOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      const out = String(stdout)
      const errText = String(stderr)
      if (err) {
        const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null
        reject(new CommandError(file, args, code, out, errText))
      } else resolveRun({ stdout: out, stderr: errText })
    })
  })
}

/** The shared local-CA dir: VOUCH_LOCALCA_DIR or os.tmpdir()/vouch-localca-<uid>. */
export function localCaDir(): string {
  return process.env.VOUCH_LOCALCA_DIR ?? join(tmpdir(), `vouch-localca-${userInfo().uid}`)
}

/** Read the CA certs of a swtpm_localca dir (exists after the first EK cert was issued from it). */
export async function readLocalCa(dir: string): Promise<LocalCa> {
  const rootCertPath = join(dir, 'swtpm-localca-rootca-cert.pem')
  const intermediateCertPath = join(dir, 'issuercert.pem')
  return {
    dir,
    rootCertPath,
    intermediateCertPath,
    rootPem: await readFile(rootCertPath, 'utf8'),
    intermediatePem: await readFile(intermediateCertPath, 'utf8'),
  }
}

interface ConfFiles {
  localcaConf: string
  localcaOptions: string
  setupConf: string
  certsTool: string
  lock: string
}

async function writeConfigs(confDir: string, caDir: string): Promise<ConfFiles> {
  await mkdir(confDir, { recursive: true })
  await mkdir(caDir, { recursive: true })
  const lock = join(caDir, '.lock')
  const localcaConf = join(confDir, 'swtpm-localca.conf')
  const localcaOptions = join(confDir, 'swtpm-localca.options')
  const setupConf = join(confDir, 'swtpm_setup.conf')
  const certsTool = join(confDir, 'swtpm-localca-locked')
  await writeFile(
    localcaConf,
    [
      `statedir = ${caDir}`,
      `signingkey = ${join(caDir, 'signkey.pem')}`,
      `issuercert = ${join(caDir, 'issuercert.pem')}`,
      `certserial = ${join(caDir, 'certserial')}`,
      '',
    ].join('\n'),
  )
  await writeFile(localcaOptions, '--platform-manufacturer VouchLab\n--platform-version 2.1\n--platform-model VouchBoard\n')
  // swtpm_setup runs this wrapper instead of swtpm_localca: one CA user at a time (CA creation, serials)
  await writeFile(certsTool, `#!/bin/sh\nexec flock "${lock}" swtpm_localca "$@"\n`)
  await chmod(certsTool, 0o755)
  await writeFile(
    setupConf,
    [
      `create_certs_tool = ${certsTool}`,
      `create_certs_tool_config = ${localcaConf}`,
      `create_certs_tool_options = ${localcaOptions}`,
      'active_pcr_banks = sha1,sha256',
      '',
    ].join('\n'),
  )
  return { localcaConf, localcaOptions, setupConf, certsTool, lock }
}

/**
 * A run killed while swtpm_localca was creating the CA can leave a half-made CA (a signing key
 * without its certificate). Under the CA lock, remove such leftovers so the next swtpm_localca
 * call creates the CA again.
 */
async function repairLocalCa(lock: string, caDir: string): Promise<void> {
  const script = [
    'cd "$1" || exit 0',
    'if [ -f signkey.pem ] || [ -f swtpm-localca-rootca-privkey.pem ]; then',
    '  if [ ! -s issuercert.pem ] || [ ! -s signkey.pem ] || [ ! -s swtpm-localca-rootca-cert.pem ]; then',
    '    rm -f signkey.pem issuercert.pem swtpm-localca-rootca-cert.pem swtpm-localca-rootca-privkey.pem certserial',
    '  fi',
    'fi',
  ].join('\n')
  await run('flock', [lock, 'sh', '-c', script, 'repair-localca', caDir])
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function probe(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      res(true)
    })
    s.once('error', () => {
      s.destroy()
      res(false)
    })
  })
}

interface Daemon {
  pid: number
  port: number
  ctrlPort: number
}

/** Start `swtpm socket` as a daemon on fresh ports; retries when a port was taken in between. */
async function launch(stateDir: string): Promise<Daemon> {
  const pidFile = join(stateDir, 'swtpm.pid')
  let lastError: unknown
  for (let attempt = 0; attempt < 8; attempt++) {
    const [port, ctrlPort] = await freePortPair()
    await rm(pidFile, { force: true })
    try {
      await run('swtpm', [
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${stateDir}`,
        '--server',
        `type=tcp,port=${port},bindaddr=127.0.0.1`,
        '--ctrl',
        `type=tcp,port=${ctrlPort},bindaddr=127.0.0.1`,
        '--flags',
        'not-need-init,startup-clear',
        '--pid',
        `file=${pidFile}`,
        '--log',
        `file=${join(stateDir, 'swtpm.log')},level=1`,
        '--daemon',
      ])
    } catch (err) {
      lastError = err
      if (err instanceof CommandError && /in use/i.test(err.stderr)) continue
      throw err
    }
    let pid = 0
    for (let i = 0; i < 100 && !pid; i++) {
      try {
        pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10) || 0
      } catch {
        await sleep(20)
      }
    }
    if (!pid) throw new Error(`swtpm: no pid file at ${pidFile}`)
    // the daemon binds before it forks, so this normally succeeds at once
    for (let i = 0; i < 100; i++) {
      if (await probe(port)) return { pid, port, ctrlPort }
      await sleep(20)
    }
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      /* gone */
    }
    throw new Error(`swtpm: pid ${pid} never listened on 127.0.0.1:${port}`)
  }
  throw lastError instanceof Error ? lastError : new Error('swtpm: could not bind free ports')
}

async function kill(pid: number): Promise<void> {
  if (!pidAlive(pid)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 100; i++) {
    if (!pidAlive(pid)) return
    await sleep(20)
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    /* gone */
  }
}

async function makeInstance(name: string, dir: string, stateDir: string, ekCa: LocalCa): Promise<Swtpm> {
  installExitHook()
  const workDir = join(dir, 'work')
  await mkdir(workDir, { recursive: true })
  let daemon = await launch(stateDir)
  live.set(daemon.pid, dir)
  const tpm: Swtpm = {
    name,
    port: daemon.port,
    ctrlPort: daemon.ctrlPort,
    dir,
    stateDir,
    workDir,
    tcti: `swtpm:host=127.0.0.1,port=${daemon.port}`,
    env: { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${daemon.port}` },
    pid: daemon.pid,
    ekCa,
    ekCaDir: ekCa.dir,
    async stop(opts = {}) {
      await kill(tpm.pid)
      live.delete(tpm.pid)
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true })
    },
    async restart() {
      await kill(tpm.pid)
      live.delete(tpm.pid)
      daemon = await launch(stateDir)
      live.set(daemon.pid, dir)
      tpm.pid = daemon.pid
      tpm.port = daemon.port
      tpm.ctrlPort = daemon.ctrlPort
      tpm.tcti = `swtpm:host=127.0.0.1,port=${daemon.port}`
      tpm.env = { ...process.env, TPM2TOOLS_TCTI: tpm.tcti }
    },
  }
  return tpm
}

/** Start a freshly manufactured swtpm (new seeds, new EK) with EK certs from the local CA. */
export async function startSwtpm(opts: StartSwtpmOptions = {}): Promise<Swtpm> {
  const name = opts.name ?? 'tpm'
  const caDir = opts.caDir ?? localCaDir()
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), `vouch-swtpm-${name.replace(/[^\w-]/g, '_')}-`))
  try {
    const stateDir = join(dir, 'state')
    await mkdir(stateDir, { recursive: true })
    const conf = await writeConfigs(join(dir, 'conf'), caDir)
    const setupArgs = [
      '--tpm2',
      '--tpmstate',
      stateDir,
      '--pcr-banks',
      'sha1,sha256',
      '--config',
      conf.setupConf,
      '--logfile',
      join(dir, 'conf', 'swtpm_setup.log'),
      '--overwrite',
    ]
    if (opts.ekCert ?? true) setupArgs.push('--create-ek-cert', '--write-ek-cert-files', stateDir)
    else setupArgs.push('--createek')
    if (opts.platformCert) setupArgs.push('--create-platform-cert')
    if (opts.createSpk) setupArgs.push('--create-spk')
    if (opts.rsaKeySize === 3072) setupArgs.push('--rsa-keysize', '3072')
    await repairLocalCa(conf.lock, caDir)
    try {
      await run('swtpm_setup', setupArgs)
    } catch (err) {
      const log = await readFile(join(dir, 'conf', 'swtpm_setup.log'), 'utf8').catch(() => '')
      throw new Error(`swtpm_setup failed: ${(err as Error).message}\n${log.slice(-2000)}`)
    }
    const ekCa = await readLocalCa(caDir)
    const tpm = await makeInstance(name, dir, stateDir, ekCa)
    if (opts.eccP256EkCert) {
      try {
        await provisionP256EkCert(tpm, conf)
      } catch (err) {
        await tpm.stop()
        throw err
      }
    }
    return tpm
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * Issue a P-256 EK cert for the default `tpm2_createek -G ecc` key (TCG low-range template L-2) with
 * the same swtpm_localca (same TCG SAN/EKU fields as swtpm's own certs) and store it at NV 0x01c0000a
 * with platform authorization (empty with --flags startup-clear). toolchain-lab.md §2.
 */
async function provisionP256EkCert(tpm: Swtpm, conf: ConfFiles): Promise<void> {
  const env = tpm.env
  const t = await mkdtemp(join(tpm.dir, 'p256-'))
  try {
    await run('tpm2_createek', ['-c', join(t, 'ek.ctx'), '-G', 'ecc', '-u', join(t, 'ek.pub')], { env })
    const { stdout } = await run('tpm2_readpublic', ['-c', join(t, 'ek.ctx')], { env })
    await run('tpm2_flushcontext', ['-t'], { env })
    const x = /^x: ([0-9a-f]+)$/m.exec(stdout)?.[1]
    const y = /^y: ([0-9a-f]+)$/m.exec(stdout)?.[1]
    if (!x || !y) throw new Error('p256 ek: no x/y in tpm2_readpublic output')
    await run('flock', [
      conf.lock,
      'swtpm_localca',
      '--type',
      'ek',
      '--ek',
      `x=${x},y=${y},id=secp256r1`,
      '--dir',
      t,
      '--tpm-spec-family',
      '2.0',
      '--tpm-spec-level',
      '0',
      '--tpm-spec-revision',
      '164',
      '--tpm-manufacturer',
      'id:00001014',
      '--tpm-model',
      'swtpm',
      '--tpm-version',
      'id:20191023',
      '--tpm2',
      '--configfile',
      conf.localcaConf,
      '--logfile',
      join(t, 'localca.log'),
    ])
    const certPath = join(t, 'ek.cert')
    if (!existsSync(certPath)) throw new Error(`p256 ek: swtpm_localca wrote no ek.cert: ${readFileSync(join(t, 'localca.log'), 'utf8')}`)
    const size = (await readFile(certPath)).length
    const idx = `0x${NV_EK_CERT_ECC_P256.toString(16)}`
    await run(
      'tpm2_nvdefine',
      ['-C', 'p', '-s', String(size), '-a', 'ppwrite|ppread|ownerread|authread|no_da|platformcreate|writedefine', idx],
      { env },
    )
    await run('tpm2_nvwrite', ['-C', 'p', '-i', certPath, idx], { env })
    await cp(certPath, join(tpm.stateDir, 'ek-secp256r1.crt'))
  } finally {
    await rm(t, { recursive: true, force: true })
  }
}

/** Names of the committed fixture TPM states (test/vectors/swtpm/state/<name>/). */
export function fixtureTpmNames(): string[] {
  const manifest = JSON.parse(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as { tpms: Record<string, unknown> }
  return Object.keys(manifest.tpms)
}

/**
 * Start the TPM behind the committed fixtures: copies test/vectors/swtpm/state/<name>/ (tpm2-00.permall)
 * into a temp dir and serves it. Same EK, same seeds, so the committed devid.priv/ak.priv blobs load
 * under the SRK-High templates and credential activation for the committed EK works. Each call is an
 * independent copy (a "clone"), PCRs start reset.
 */
export async function startFixtureTpm(name: string, opts: { tmpRoot?: string } = {}): Promise<Swtpm> {
  const src = join(FIXTURE_DIR, 'state', name)
  if (!existsSync(join(src, 'tpm2-00.permall'))) throw new Error(`no fixture TPM state at ${src}`)
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), `vouch-swtpm-fixture-${name.replace(/[^\w-]/g, '_')}-`))
  try {
    const stateDir = join(dir, 'state')
    await mkdir(stateDir, { recursive: true })
    await cp(join(src, 'tpm2-00.permall'), join(stateDir, 'tpm2-00.permall'))
    const ekCa = await readLocalCa(join(FIXTURE_DIR, 'ek-ca'))
    return await makeInstance(`fixture-${name}`, dir, stateDir, ekCa)
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}
