// One attestation round (docs/protocol.md): gather TPM evidence for the configured attestors, POST
// /v1/attest, answer the challenges with the DevID signature and the activated credential (both
// bound to a fresh SVID key), POST the answer with the new key's proof of possession, write the
// SVID. Every TPM object is flushed and the one TPM connection is closed, also on errors.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeSvidKeyProofMessage } from '../core/attestation/svid-key.ts'
import { bytesEqual, concatBytes } from '../core/bytes/equal.ts'
import { fromBase64 } from '../core/bytes/encoding.ts'
import { parsePemCertificates, toPem } from '../core/bytes/pem.ts'
import { defaultPlatform, type Platform } from '../core/platform.ts'
import { algName, TPM_ALG } from '../core/tpm2/constants.ts'
import { parseTpmtPublic } from '../core/tpm2/public.ts'
import { stripTpm2bPrefix } from '../core/tpm2/command/structures.ts'
import { parseCertificate, type Certificate } from '../core/x509/certificate.ts'
import {
  encodeAnswer,
  encodeQuoteAnswer,
  encodeTpmDevidEvidence,
  encodeTpmEkEvidence,
  WIRE_PCR_BANKS,
  type WireQuoteAnswer,
  type WireQuoteChallenge,
} from '../core/attestation/wire.ts'
import { checkBundleUpdate, parseCertificatesPem } from './bundle-update.ts'
import { checkServerScheme, type AgentConfig, type AttestorConfig, DEFAULT_EVENT_LOG_PATH, type TpmDevIdConfig } from './config.ts'
import { type FailoverOptions, ServerPool } from './failover.ts'
import { AgentHttpClient, type AnswerResponse, ProtocolError } from './http.ts'
import type { Logger } from './log.ts'
import { TpmClient } from './tpm/client.ts'
import { openTransport } from './tpm/open.ts'
import { AgentTpmSession } from './tpm/session.ts'
import type { TpmTransport } from './tpm/transport.ts'

export interface AttestSummary {
  spiffeId: string
  /** the policy that authorized this agent, its attributes, and every check the server ran */
  policy?: string
  attributes?: Record<string, string>
  checks?: { name: string; ok: boolean; detail: string }[]
  expiresAt: string
  reattestAfter: string
  attestors: string[]
  transport: string
  /** the server that answered (one of agent.servers) */
  server: string
  svidPath: string
  keyPath: string
  bundlePath: string
}

interface DevIdFiles {
  certs: Uint8Array[]
  pub: Uint8Array
  priv: Uint8Array
}

async function readConfigFile(key: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new Error(`read ${key} ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`)
  }
}

/** Read and check the DevID files with the seed's messages. */
export async function loadDevIdFiles(c: TpmDevIdConfig): Promise<DevIdFiles> {
  const certBytes = await readConfigFile('devIDCertPath', c.devIDCertPath)
  const pub = stripTpm2bPrefix(await readConfigFile('devIDPubPath', c.devIDPubPath))
  const priv = await readConfigFile('devIDPrivPath', c.devIDPrivPath)
  let certs: Uint8Array[]
  try {
    const text = new TextDecoder().decode(certBytes)
    certs = text.includes('-----BEGIN') ? parsePemCertificates(text, c.devIDCertPath) : [certBytes]
    if (certs.length === 0) throw new Error('no certificate')
    parseCertificate(certs[0]!)
  } catch (e) {
    throw new Error(`parse DevID certificate from ${c.devIDCertPath}`, { cause: e })
  }
  const p = parseTpmtPublic(pub, 'DevID public')
  const hash = p.parameters.scheme.hashAlg
  if (hash !== TPM_ALG.SHA256) throw new Error(`DevID key has unsupported hash algorithm ${algName(hash)}: only SHA-256 is supported`)
  return { certs, pub, priv }
}

export interface AttestDeps {
  readonly log: Logger
  readonly platform?: Platform
  /** for tests: a transport instead of `agent.tpm` */
  readonly transport?: TpmTransport
  /** backoff and attempts between agent.servers (agent/failover.ts defaults) */
  readonly failover?: FailoverOptions
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, data, { mode })
  await chmod(tmp, mode)
  await rename(tmp, path)
}

export async function attestOnce(cfg: AgentConfig, deps: AttestDeps): Promise<AttestSummary> {
  const platform = deps.platform ?? defaultPlatform()
  const { log } = deps
  const devIdCfg = cfg.attestors.find((a): a is TpmDevIdConfig => a.type === 'tpm_devid')
  const first: AttestorConfig = devIdCfg ?? cfg.attestors[0]!
  const files = devIdCfg ? await loadDevIdFiles(devIdCfg) : undefined
  const servers = cfg.servers?.length ? cfg.servers : [cfg.server]
  for (const server of servers) checkServerScheme(server, cfg.insecureHttp === true)
  const insecure = servers.filter((server) => new URL(server).protocol === 'http:')
  if (insecure.length > 0)
    log.log('warn', 'Insecure HTTP: evidence and SVID travel unencrypted to an unauthenticated server', {
      server: insecure.length === 1 ? insecure[0] : insecure,
    })
  const current = await currentTrust(cfg, log)
  const caPem = current.pem || undefined

  const transport = deps.transport ?? (await openTransport(cfg.tpm, { bridge: cfg.tpmBridge }))
  log.log('info', 'Opened TPM', { transport: transport.description })
  const client = new TpmClient(transport)
  try {
    const session = await AgentTpmSession.open(client, {
      devIdPub: files?.pub,
      devIdPriv: files?.priv,
      devIdPassword: devIdCfg?.devIDKeyPassword,
      ownerHierarchyPassword: first.ownerHierarchyPassword,
      endorsementHierarchyPassword: first.endorsementHierarchyPassword,
      ekKind: first.ekAlgorithm,
      ...(first.ekCertificateNvIndex === undefined ? {} : { ekCertificateNvIndex: first.ekCertificateNvIndex }),
    })
    try {
      const ekCert = await session.readEkCertificate().catch((e: unknown) => {
        log.log('warn', 'No EK certificate', { error: (e as Error).message })
        return undefined
      })
      const pubs = session.publicAreas()
      const evidence: Record<string, unknown> = {}
      const methods = cfg.attestors.map((a) => a.type)
      for (const a of cfg.attestors) {
        if (a.type === 'tpm_devid') {
          const cert = await session.certifyDevId()
          evidence.tpm_devid = encodeTpmDevidEvidence({
            devIdCerts: files!.certs,
            devIdPub: pubs.devIdPub!,
            ...(ekCert ? { ekCert } : {}),
            ekPub: pubs.ekPub,
            akPub: pubs.akPub,
            certifiedDevId: cert.attest,
            certificationSignature: cert.signature.raw,
          })
        } else {
          evidence.tpm_ek = encodeTpmEkEvidence({ ...(ekCert ? { ekCert } : {}), ekPub: pubs.ekPub, akPub: pubs.akPub })
        }
      }
      const pool = new ServerPool(
        servers,
        (server) => new AgentHttpClient(server, caPem, undefined, cfg.insecureHttp === true),
        log,
        deps.failover,
      )
      let verdict: AnswerResponse
      let keyPair: CryptoKeyPair
      let answeredBy: string
      for (let round = 1; ; round++) {
        log.log('debug', 'Sending Login', { attestors: methods, server: pool.server })
        const started = await pool.run('attest', (http) => http.attest(methods, evidence))
        const challenge = started.value
        log.log('info', 'Connected to server', { server: started.server, attestors: methods })

        // the new SVID key, bound into both proofs
        keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
        const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keyPair.publicKey))
        const binding = await platform.crypto.digest('SHA-256', spki)

        // each attestor's challenge carries its own credential and secret: activate each one
        const answers: Record<string, unknown> = {}
        for (const m of methods) {
          const ch = challenge.challenges[m]
          if (!ch) throw new Error(`server sent no challenge for ${m}`)
          const secret = await session.activateCredential(
            fromBase64(ch.CredActivation.Credential, 'Credential'),
            fromBase64(ch.CredActivation.Secret, 'Secret'),
          )
          const proof = await platform.crypto.hmac('SHA-256', secret, binding)
          const quote = ch.Quote ? await answerBootQuote(session, ch.Quote, cfg.attestors.find((a) => a.type === m)!, log) : undefined
          if (m === 'tpm_devid') {
            const nonce = fromBase64(ch.DevID ?? '', 'DevID nonce')
            const sig = await session.signWithDevId(concatBytes(nonce, binding))
            answers[m] = encodeAnswer({ devIdSignature: sig, credActivation: proof, ...(quote ? { quote } : {}) })
          } else {
            answers[m] = encodeAnswer({ credActivation: proof, ...(quote ? { quote } : {}) })
          }
        }
        // proof that this agent holds the new key: its signature over the session binding
        const keyProof = new Uint8Array(
          await crypto.subtle.sign(
            { name: 'ECDSA', hash: 'SHA-256' },
            keyPair.privateKey,
            makeSvidKeyProofMessage(challenge.sessionId, binding),
          ),
        )
        // any replica of the service answers a sealed session: the answer may fail over too
        try {
          const answered = await pool.run('answer', (http) => http.answer(challenge.sessionId, answers, spki, keyProof))
          verdict = answered.value
          answeredBy = answered.server
          break
        } catch (e) {
          // the answer moved to another server, which does not know the session (the first may
          // have taken the answer before it failed, or keeps sessions in memory): start again, once
          const unknown = e instanceof ProtocolError && e.status === 404 && e.code === 'ERR_SESSION_UNKNOWN'
          if (!unknown || round > 1 || pool.server === started.server) throw e
          log.log('warn', 'Session unknown after a failover: attesting again', { startedOn: started.server, server: pool.server })
        }
      }
      const svidChain = verdict.svid.flatMap((p) => parsePemCertificates(p, 'svid'))
      const update = await checkBundleUpdate({ current: current.certificates, receivedPem: verdict.bundle, svidChain, platform })
      if (update.firstUse)
        log.log('warn', 'Bundle trusted on first use (no trustBundlePath, no earlier bundle)', { roots: update.roots.length })
      else if (update.added.length > 0) log.log('info', 'Trust bundle updated', { roots: update.roots.length, added: update.added.length })
      const paths = await writeSvid(cfg.svidDir, keyPair.privateKey, verdict)
      return {
        spiffeId: verdict.spiffeId,
        policy: verdict.policy,
        attributes: verdict.attributes,
        checks: verdict.checks,
        expiresAt: verdict.expiresAt,
        reattestAfter: verdict.reattestAfter,
        attestors: methods,
        transport: transport.description,
        server: answeredBy,
        ...paths,
      }
    } finally {
      await session.close()
    }
  } finally {
    await client.close()
  }
}

/** The server's policy asks for measured boot: quote the PCRs it names with its nonce, send their values and the event log. */
async function answerBootQuote(session: AgentTpmSession, q: WireQuoteChallenge, a: AttestorConfig, log: Logger): Promise<WireQuoteAnswer> {
  const selection = Object.entries(q.PCRs ?? {}).map(([bank, pcrs]) => {
    const hash = WIRE_PCR_BANKS[bank]
    if (hash === undefined || !Array.isArray(pcrs)) throw new Error(`server asked to quote an unknown PCR bank "${bank}"`)
    return { hash, pcrs: [...pcrs].sort((x, y) => x - y) }
  })
  selection.sort((x, y) => x.hash - y.hash)
  const path = a.eventLogPath ?? DEFAULT_EVENT_LOG_PATH
  const eventLog = await readConfigFile('eventLogPath', path)
  const pcrValues = await session.readPcrs(selection)
  const quote = await session.quote(fromBase64(q.Nonce, 'quote nonce'), selection)
  log.log('debug', 'Quoted PCRs for measured boot', { pcrs: q.PCRs, eventLogBytes: eventLog.length })
  return encodeQuoteAnswer({ attest: quote.attest, signature: quote.signature.raw, pcrValues, eventLog })
}

/** trustBundlePath and the bundle written by an earlier attestation: what the agent trusts now */
async function currentTrust(cfg: AgentConfig, log: Logger): Promise<{ pem: string; certificates: Certificate[] }> {
  const texts: string[] = []
  if (cfg.trustBundlePath) texts.push(new TextDecoder().decode(await readConfigFile('trustBundlePath', cfg.trustBundlePath)))
  let certificates: Certificate[] = []
  try {
    if (texts.length) certificates = parseCertificatesPem(texts[0]!, 'trustBundlePath')
  } catch (e) {
    throw new Error(
      `read trustBundlePath ${cfg.trustBundlePath}: ${(e as Error).message.replace(/^server bundle refused: trustBundlePath: /, '')}`,
    )
  }
  const earlier = join(cfg.svidDir, 'bundle.pem')
  let text: string | undefined
  try {
    text = await readFile(earlier, 'utf8')
  } catch {
    text = undefined
  }
  if (text !== undefined) {
    try {
      for (const c of parseCertificatesPem(text, earlier)) if (!certificates.some((x) => bytesEqual(x.raw, c.raw))) certificates.push(c)
      texts.push(text)
    } catch (e) {
      log.log('warn', 'Earlier bundle ignored', { path: earlier, error: (e as Error).message })
    }
  }
  return { pem: texts.join(texts.length > 1 && !texts[0]!.endsWith('\n') ? '\n' : ''), certificates }
}

async function writeSvid(
  dir: string,
  key: CryptoKey,
  v: AnswerResponse,
): Promise<{ svidPath: string; keyPath: string; bundlePath: string }> {
  await mkdir(dir, { recursive: true })
  const keyPath = join(dir, 'svid.key.pem')
  const svidPath = join(dir, 'svid.pem')
  const bundlePath = join(dir, 'bundle.pem')
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key))
  await writeAtomic(keyPath, toPem('PRIVATE KEY', pkcs8), 0o600)
  await writeAtomic(svidPath, v.svid.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''), 0o644)
  await writeAtomic(bundlePath, v.bundle, 0o644)
  return { svidPath, keyPath, bundlePath }
}
