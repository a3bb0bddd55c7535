/** The tpm_devid attestor (core/attestor/attestor.ts): its config, attributes, decoders, checks and challenge, registered in ../registry.ts. */
import type { Attestor } from '../../attestor/attestor.ts'
import { decoded } from '../../attestor/decoded.ts'
import { DEVID_CA_REQUIRED } from '../../messages.ts'
import {
  checkTpmDevidSelectorValue,
  TPM_DEVID_ATTRIBUTE_KEYS,
  TPM_DEVID_DEFAULT_SPIFFE_ID_TEMPLATE,
  TPM_DEVID_SELECTOR_TYPE,
} from './attributes.ts'
import { checkTpmDevidAnswer, checkTpmDevidEvidence, makeTpmDevidChallenge, type TpmDevidFacts, type TpmDevidSession } from './checks.ts'
import { parseTpmDevidConfig, TPM_DEVID_CONFIG_KEYS, TPM_DEVID_TOLERANCES, type TpmDevidAttestorConfig } from './config.ts'
import { decodeTpmDevidAnswer, decodeTpmDevidEvidence } from './evidence.ts'

export const tpmDevidAttestor: Attestor<'tpm_devid', TpmDevidAttestorConfig, TpmDevidFacts, TpmDevidSession> = {
  type: 'tpm_devid',
  configKeys: TPM_DEVID_CONFIG_KEYS,
  configRequired: DEVID_CA_REQUIRED,
  parseConfig: parseTpmDevidConfig,
  tolerances: TPM_DEVID_TOLERANCES,
  boot: true,
  attributeKeys: TPM_DEVID_ATTRIBUTE_KEYS,
  defaultSpiffeIdTemplate: TPM_DEVID_DEFAULT_SPIFFE_ID_TEMPLATE,
  selectorType: TPM_DEVID_SELECTOR_TYPE,
  checkSelectorValue: checkTpmDevidSelectorValue,
  identityAttribute: 'tpm_devid.certificate.fingerprint',
  challengeDetail: '32-byte DevID nonce; credential for the EK bound to Name(AK)',
  async checkEvidence(log, evidence, config, platform) {
    const ev = decoded(log, 'tpm_devid.evidence', () => decodeTpmDevidEvidence(evidence, platform))
    const facts = await checkTpmDevidEvidence(log, ev, config, platform)
    return { facts, akPub: ev.akPub, ...(config.boot ? { boot: config.boot } : {}) }
  },
  makeChallenge: makeTpmDevidChallenge,
  async checkAnswer(log, session, answer, binding, platform) {
    const a = decoded(log, 'tpm_devid.answer', () => decodeTpmDevidAnswer(answer, platform))
    await checkTpmDevidAnswer(log, session, a, binding, platform)
  },
}
