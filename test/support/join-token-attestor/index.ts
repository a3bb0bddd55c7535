/**
 * A third attestor that exists only for tests: `join_token` (SPIRE-like join tokens). It is one
 * folder built from the public `vouch/attestation` API and registered with createAttestorRegistry,
 * to show that nothing else in vouch needs an edit for a new attestor.
 */
import { type Attestor, decoded } from '../../../core/entries/attestation.ts'
import {
  checkJoinTokenAnswer,
  checkJoinTokenEvidence,
  decodeJoinTokenAnswer,
  decodeJoinTokenEvidence,
  type JoinTokenFacts,
  type JoinTokenSession,
  makeJoinTokenChallenge,
} from './checks.ts'
import { JOIN_TOKEN_CONFIG_REQUIRED, type JoinTokenConfig, parseJoinTokenConfig } from './config.ts'

export const joinTokenAttestor: Attestor<'join_token', JoinTokenConfig, JoinTokenFacts, JoinTokenSession> = {
  type: 'join_token',
  configKeys: ['tokenHashes'],
  configRequired: JOIN_TOKEN_CONFIG_REQUIRED,
  parseConfig: parseJoinTokenConfig,
  tolerances: [],
  boot: false,
  attributeKeys: ['join_token.token_id'],
  defaultSpiffeIdTemplate: '/agents/join-token/{{join_token.token_id}}',
  selectorType: 'join_token',
  checkSelectorValue: (value) => (/^token_id:[0-9a-f]{16}$/.test(value) ? undefined : 'join_token selectors are token_id:<16 hex digits>'),
  identityAttribute: 'join_token.token_id',
  challengeDetail: '32-byte nonce',
  async checkEvidence(log, evidence, config, platform) {
    const token = decoded(log, 'join_token.evidence', () => decodeJoinTokenEvidence(evidence, platform))
    return { facts: await checkJoinTokenEvidence(log, token, config, platform) }
  },
  makeChallenge: makeJoinTokenChallenge,
  async checkAnswer(log, session, answer, binding, platform) {
    const proof = decoded(log, 'join_token.answer', () => decodeJoinTokenAnswer(answer, platform))
    await checkJoinTokenAnswer(log, session, proof, binding, platform)
  },
}
