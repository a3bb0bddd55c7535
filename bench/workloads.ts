// The work the benchmark measures, built once from real swtpm evidence (test/vectors/swtpm) with a
// live fixture TPM answering. Each tpm_devid workload is the whole server side of an attestation:
// evidence checks, challenge (MakeCredential), answer checks. The platform's randomness is fixed so
// the challenge is the same every time and the TPM's one answer stays valid; session IDs alone
// still differ, and each session is taken when answered.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { toHex } from '../core/bytes/encoding.ts'
import { evaluateBootState } from '../core/eventlog/boot-state.ts'
import { parseEventLog } from '../core/eventlog/parse.ts'
import { replayEventLog } from '../core/eventlog/replay.ts'
import { createAttestationVerifier } from '../core/attestation/verifier.ts'
import type { PolicySet } from '../core/policy/types.ts'
import { parsePolicyDocument } from '../core/policy/validate.ts'
import { createMemorySessionStore } from '../core/session/store.ts'
import { withPlatform, type Platform } from '../core/platform.ts'
import { FIXTURE_DIR } from '../test/support/swtpm.ts'
import { LiveAgent, evidenceSet, vectorB64 } from '../test/core/attestation/live-agent.ts'

export interface AttestationWorkload {
  name: string
  evidence: Record<string, unknown>
  policies: PolicySet
  /** signatures (x chain verifies) etc. for the floor: filled by floor.ts */
  answers: Record<string, unknown>
  binding: Uint8Array
}

const text = (p: string) => readFileSync(join(FIXTURE_DIR, p), 'utf8')

function policySet(): PolicySet {
  const doc = parseDocument(`
section: AgentAttestation
schema: v1
spec:
  policies:
  - name: bench
    requiredAttestors:
    - type: tpm_devid
      config:
        devIDCACerts: |
${(text('devid-ca/root.pem') + text('devid-ca/intermediate.pem') + text('devid-ca-rsa/root.pem')).replace(/^/gm, '          ')}
        endorsementCACerts: |
${(text('ek-ca/swtpm-localca-rootca-cert.pem') + text('ek-ca/issuercert.pem')).replace(/^/gm, '          ')}
`).toJS()
  return parsePolicyDocument(doc)
}

/**
 * Randomness that repeats where the challenge draws it: the same nonce, activation secret and
 * OAEP seed (32 bytes each) every attestation. Every other draw comes from the platform: session
 * IDs (24 bytes), a sealed session's use-once ID (16) and IV (12), SVID serials (16).
 */
export function fixedRandom(platform: Platform): Platform {
  return withPlatform(
    {
      crypto: {
        ...platform.crypto,
        randomBytes: (size: number) => (size === 32 ? new Uint8Array(32).fill(0x5a) : platform.crypto.randomBytes(size)),
      },
    },
    platform,
  )
}

/** The tpm_devid work items, in the order buildWorkloads builds them. */
export const TPM_DEVID_WORK = [
  'tpm_devid all-RSA (DevID CA chain, DevID, AK, EK RSA-2048)',
  'tpm_devid RSA DevID + AK + EK, P-256 DevID CA',
  'tpm_devid P-256 DevID + P-256 AK, RSA EK',
  'tpm_devid RSA DevID + AK, P-256 EK (ECDH MakeCredential)',
] as const

export async function buildWorkloads(base: Platform): Promise<{ workloads: AttestationWorkload[]; stop(): Promise<void> }> {
  const agent = await LiveAgent.start('tpm-a')
  const policies = policySet()
  const binding = new Uint8Array(32).fill(7)
  const rsa = evidenceSet('tpm-a-devid-rsa')
  const evidence = [
    evidenceSet('tpm-a-devid-rsa-rsa-ca'),
    rsa,
    evidenceSet('tpm-a-devid-p256-ak-ecc'),
    { ...rsa, EKCert: vectorB64('tpm-a/ek-p256.crt.der'), EKPub: vectorB64('tpm-a/ek-p256.tpmt') },
  ]
  const sets = TPM_DEVID_WORK.map((name, i): [string, Record<string, unknown>] => [name, evidence[i]!])
  const workloads: AttestationWorkload[] = []
  try {
    for (const [name, evidence] of sets) {
      const platform = fixedRandom(base)
      const v = createAttestationVerifier({ policies, platform, sessions: createMemorySessionStore({ now: () => platform.now() }) })
      const started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
      const ch = started.challenges.tpm_devid as Record<string, unknown>
      const ev = evidence as Record<string, string>
      const answer = await agent.answer(ch, { devIdPub: ev.DevIDPub!, akPub: ev.AKPub!, ekPub: ev.EKPub!, binding })
      const verdict = await v.answer(started.sessionId, { tpm_devid: answer }, { binding })
      if (!verdict.ok) throw new Error(`${name}: the precomputed answer does not verify`)
      workloads.push({ name, evidence, policies, answers: { tpm_devid: answer }, binding })
    }
  } catch (e) {
    await agent.stop() // no swtpm daemon left behind when a runtime cannot build the work
    throw e
  }
  return { workloads, stop: () => agent.stop() }
}

/**
 * One full server-side attestation on `platform` (fixed randomness), through one verifier and
 * session store as a server holds them; throws unless it passes.
 */
export function attestOnce(w: AttestationWorkload, base: Platform): () => Promise<void> {
  const platform = fixedRandom(base)
  const v = createAttestationVerifier({
    policies: w.policies,
    platform,
    sessions: createMemorySessionStore({ now: () => platform.now(), capacity: 64 }),
  })
  return async () => {
    const started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: w.evidence } })
    const verdict = await v.answer(started.sessionId, w.answers, { binding: w.binding })
    if (!verdict.ok) throw new Error('attestation failed')
  }
}

/** A real firmware event log (keylime's Secure Boot test machine, 99 events, SHA-1 and SHA-256 banks). */
export const BOOT_LOG_PATH = 'test/vectors/eventlog/keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-secureboot'
export const BOOT_WORK = 'tpm_devid + boot policy (quote, real 99-event log replayed, Secure Boot, PCR 7, db)'

export interface BootWorkload extends AttestationWorkload {
  readonly eventLog: Uint8Array
}

/**
 * tpm_devid (RSA DevID + AK + EK) with a `boot` block: the fixture TPM's sha256 PCRs are extended
 * with the real log's digests, so its quote over the fixed nonce replays; the policy demands Secure
 * Boot, the PCR 7 value and the db the log shows.
 */
export async function buildBootWorkload(base: Platform): Promise<{ workload: BootWorkload; stop(): Promise<void> }> {
  const agent = await LiveAgent.start('tpm-a')
  try {
    const eventLog = new Uint8Array(readFileSync(BOOT_LOG_PATH))
    const log = parseEventLog(eventLog)
    for (const e of log.events) {
      const d = e.digests.find((x) => x.alg === 0x000b)
      if (e.type !== 3 && d) await agent.tools.exec('tpm2_pcrextend', [`${e.pcr}:sha256=${toHex(d.digest)}`])
    }
    const expected = await replayEventLog(log, base)
    const pcr7 = toHex(expected.banks.find((b) => b.alg === 0x000b)!.pcrs.get(7)!)
    const state = await evaluateBootState(log, { verifiedPcrs: [7] })
    const db = (state.db?.certificates ?? []).map((c) => c.sha256!)
    const doc = parseDocument(`
section: AgentAttestation
schema: v1
spec:
  policies:
  - name: bench-boot
    requiredAttestors:
    - type: tpm_devid
      config:
        devIDCACerts: |
${(text('devid-ca/root.pem') + text('devid-ca/intermediate.pem') + text('devid-ca-rsa/root.pem')).replace(/^/gm, '          ')}
        endorsementCACerts: |
${(text('ek-ca/swtpm-localca-rootca-cert.pem') + text('ek-ca/issuercert.pem')).replace(/^/gm, '          ')}
        boot:
          secureBoot: required
          pcrs: { sha256: { "7": ["${pcr7}"] } }
          db: { allowed: [${db.map((x) => `"${x}"`).join(', ')}] }
`).toJS()
    const policies = parsePolicyDocument(doc)
    const binding = new Uint8Array(32).fill(7)
    const evidence = evidenceSet('tpm-a-devid-rsa-rsa-ca')
    const platform = fixedRandom(base)
    const v = createAttestationVerifier({ policies, platform, sessions: createMemorySessionStore({ now: () => platform.now() }) })
    const started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
    const ch = started.challenges.tpm_devid as Record<string, unknown>
    const ev = evidence as Record<string, string>
    const answer: Record<string, unknown> = await agent.answer(ch, { devIdPub: ev.DevIDPub!, akPub: ev.AKPub!, ekPub: ev.EKPub!, binding })
    const q = ch.Quote as { Nonce: string; PCRs: Record<string, number[]> }
    const quoted = await agent.quote(ev.AKPub!, `sha256:${q.PCRs.sha256!.join(',')}`, new Uint8Array(Buffer.from(q.Nonce, 'base64')))
    const values = []
    for (let i = 0; i < quoted.pcrValues.length; i += 32) values.push(Buffer.from(quoted.pcrValues.subarray(i, i + 32)).toString('base64'))
    answer.Quote = {
      Attest: Buffer.from(quoted.attest).toString('base64'),
      Signature: Buffer.from(quoted.sig).toString('base64'),
      PCRValues: values,
      EventLog: Buffer.from(eventLog).toString('base64'),
    }
    const verdict = await v.answer(started.sessionId, { tpm_devid: answer }, { binding })
    if (!verdict.ok || verdict.attributes['tpm_devid.boot.secure_boot'] !== 'enabled')
      throw new Error('boot workload: the answer does not verify')
    return {
      workload: { name: BOOT_WORK, evidence, policies, answers: { tpm_devid: answer }, binding, eventLog },
      stop: () => agent.stop(),
    }
  } catch (e) {
    await agent.stop()
    throw e
  }
}
