/**
 * The registered attestors (core/attestation/attestor.ts), by type. Each wraps its module's
 * decoders and checks; the verifier looks attestors up here.
 */
import type { Platform } from '../platform.ts'
import type { TpmDevidAttestorConfig, TpmEkAttestorConfig } from '../policy/types.ts'
import type { AttestorType } from '../policy/attribute-keys.ts'
import type { Attestor } from './attestor.ts'
import type { CheckLog } from './checks.ts'
import { decodeTpmDevidAnswer, decodeTpmDevidEvidence, decodeTpmEkAnswer, decodeTpmEkEvidence } from './evidence.ts'
import { checkTpmDevidAnswer, checkTpmDevidEvidence, makeTpmDevidChallenge, type TpmDevidFacts, type TpmDevidSession } from './tpm-devid.ts'
import { checkTpmEkAnswer, checkTpmEkEvidence, makeTpmEkChallenge, type TpmEkFacts, type TpmEkSession } from './tpm-ek.ts'

const WELL_FORMED = () => 'well-formed, within size bounds'

function decoded<T>(log: CheckLog, name: string, decode: () => T): T {
  return log.runSync(name, decode as () => Exclude<T, PromiseLike<unknown>>, undefined, WELL_FORMED)
}

export const tpmDevidAttestor: Attestor<TpmDevidFacts, TpmDevidSession> = {
  type: 'tpm_devid',
  challengeDetail: '32-byte DevID nonce; credential for the EK bound to Name(AK)',
  async checkEvidence(log, evidence, config, platform) {
    const ev = decoded(log, 'tpm_devid.evidence', () => decodeTpmDevidEvidence(evidence, platform))
    const facts = await checkTpmDevidEvidence(log, ev, config as TpmDevidAttestorConfig, platform)
    return { facts, akPub: ev.akPub, ...(config.boot ? { boot: config.boot } : {}) }
  },
  makeChallenge: makeTpmDevidChallenge,
  async checkAnswer(log, session, answer, binding, platform: Platform) {
    const a = decoded(log, 'tpm_devid.answer', () => decodeTpmDevidAnswer(answer, platform))
    await checkTpmDevidAnswer(log, session, a, binding, platform)
  },
}

export const tpmEkAttestor: Attestor<TpmEkFacts, TpmEkSession> = {
  type: 'tpm_ek',
  challengeDetail: 'credential for the EK bound to Name(AK)',
  async checkEvidence(log, evidence, config, platform) {
    const ev = decoded(log, 'tpm_ek.evidence', () => decodeTpmEkEvidence(evidence, platform))
    const facts = await checkTpmEkEvidence(log, ev, config as TpmEkAttestorConfig, platform)
    return { facts, akPub: ev.akPub, ...(config.boot ? { boot: config.boot } : {}) }
  },
  makeChallenge: makeTpmEkChallenge,
  async checkAnswer(log, session, answer, binding, platform: Platform) {
    const a = decoded(log, 'tpm_ek.answer', () => decodeTpmEkAnswer(answer, platform))
    await checkTpmEkAnswer(log, session, a, binding, platform)
  },
}

/** Every attestor the verifier knows, by type. */
export const ATTESTORS: { readonly [T in AttestorType]: Attestor } = {
  tpm_devid: tpmDevidAttestor as unknown as Attestor,
  tpm_ek: tpmEkAttestor as unknown as Attestor,
}
