/** The tpm_devid attestor (core/attestation/attestor.ts): its decoders, checks and challenge, registered in ../../attestors.ts. */
import type { Platform } from '../../../platform.ts'
import type { TpmDevidAttestorConfig } from '../../../policy/types.ts'
import type { Attestor } from '../../attestor.ts'
import { decoded } from '../decoded.ts'
import { checkTpmDevidAnswer, checkTpmDevidEvidence, makeTpmDevidChallenge, type TpmDevidFacts, type TpmDevidSession } from './checks.ts'
import { decodeTpmDevidAnswer, decodeTpmDevidEvidence } from './evidence.ts'

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
