/** The tpm_ek attestor (core/attestor/attestor.ts): its config, attributes, decoders, checks and challenge, registered in ../registry.ts. */
import type { Attestor } from '../../attestor/attestor.ts'
import { decoded } from '../../attestor/decoded.ts'
import { EK_TRUST_REQUIRED } from '../../messages.ts'
import { checkTpmEkSelectorValue, TPM_EK_ATTRIBUTE_KEYS, TPM_EK_DEFAULT_SPIFFE_ID_TEMPLATE, TPM_EK_SELECTOR_TYPE } from './attributes.ts'
import { checkTpmEkAnswer, checkTpmEkEvidence, makeTpmEkChallenge, type TpmEkFacts, type TpmEkSession } from './checks.ts'
import { parseTpmEkConfig, TPM_EK_CONFIG_KEYS, TPM_EK_TOLERANCES, type TpmEkAttestorConfig } from './config.ts'
import { decodeTpmEkAnswer, decodeTpmEkEvidence } from './evidence.ts'

export const tpmEkAttestor: Attestor<'tpm_ek', TpmEkAttestorConfig, TpmEkFacts, TpmEkSession> = {
  type: 'tpm_ek',
  configKeys: TPM_EK_CONFIG_KEYS,
  configRequired: EK_TRUST_REQUIRED,
  parseConfig: parseTpmEkConfig,
  tolerances: TPM_EK_TOLERANCES,
  boot: true,
  attributeKeys: TPM_EK_ATTRIBUTE_KEYS,
  defaultSpiffeIdTemplate: TPM_EK_DEFAULT_SPIFFE_ID_TEMPLATE,
  selectorType: TPM_EK_SELECTOR_TYPE,
  checkSelectorValue: checkTpmEkSelectorValue,
  identityAttribute: 'tpm_ek.public_hash',
  challengeDetail: 'credential for the EK bound to Name(AK)',
  async checkEvidence(log, evidence, config, platform) {
    const ev = decoded(log, 'tpm_ek.evidence', () => decodeTpmEkEvidence(evidence, platform))
    const facts = await checkTpmEkEvidence(log, ev, config, platform)
    return { facts, akPub: ev.akPub, ...(config.boot ? { boot: config.boot } : {}) }
  },
  makeChallenge: makeTpmEkChallenge,
  async checkAnswer(log, session, answer, binding, platform) {
    const a = decoded(log, 'tpm_ek.answer', () => decodeTpmEkAnswer(answer, platform))
    await checkTpmEkAnswer(log, session, a, binding, platform)
  },
}
