/** The tpm_ek attestor (core/attestation/attestor.ts): its decoders, checks and challenge, registered in ../../attestors.ts. */
import type { Platform } from '../../../platform.ts'
import type { TpmEkAttestorConfig } from '../../../policy/types.ts'
import type { Attestor } from '../../attestor.ts'
import { decoded } from '../decoded.ts'
import { checkTpmEkAnswer, checkTpmEkEvidence, makeTpmEkChallenge, type TpmEkFacts, type TpmEkSession } from './checks.ts'
import { decodeTpmEkAnswer, decodeTpmEkEvidence } from './evidence.ts'

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
