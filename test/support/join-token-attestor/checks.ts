/**
 * The test-only `join_token` attestor's checks. Evidence `{ Token }` (the token, base64): its
 * SHA-256 must be one of the policy's `tokenHashes`. Challenge `{ Nonce }`; answer `{ Proof }`:
 * HMAC-SHA256 keyed by the token over the nonce (|| the SVID key binding).
 */
import { fromBase64, timingSafeEqual, toBase64, toHex } from '../../../core/entries/bytes.ts'
import { type CheckLog, decodeBounded, type Selector, type ToleranceUse } from '../../../core/entries/attestation.ts'
import type { Platform } from '../../../core/index.ts'
import type { JoinTokenConfig } from './config.ts'

export interface JoinTokenFacts {
  readonly attributes: Record<string, string>
  readonly selectors: Selector[]
  readonly tolerancesUsed: readonly ToleranceUse[]
  readonly token: Uint8Array
}

export interface JoinTokenSession {
  readonly [k: string]: string
  readonly nonce: string
  readonly token: string
}

const asObject = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}

export function decodeJoinTokenEvidence(evidence: unknown, platform: Platform): Uint8Array {
  return decodeBounded(asObject(evidence).Token, 'join_token evidence.Token', 64, platform.decodeBase64)
}

export function decodeJoinTokenAnswer(answer: unknown, platform: Platform): Uint8Array {
  return decodeBounded(asObject(answer).Proof, 'join_token answer.Proof', 32, platform.decodeBase64)
}

export async function checkJoinTokenEvidence(
  log: CheckLog,
  token: Uint8Array,
  config: JoinTokenConfig,
  platform: Platform,
): Promise<JoinTokenFacts> {
  const hash = toHex(await platform.crypto.digest('SHA-256', token))
  if (!config.tokenHashes.includes(hash)) throw log.fail('join_token.token', 'ERR_POLICY_DENIED', 'join token is not one the policy issued')
  log.pass('join_token.token', 'a token the policy issued')
  const id = hash.slice(0, 16)
  return {
    attributes: { 'join_token.token_id': id },
    selectors: [{ type: 'join_token', value: `token_id:${id}` }],
    tolerancesUsed: [],
    token,
  }
}

export async function makeJoinTokenChallenge(
  facts: JoinTokenFacts,
  platform: Platform,
): Promise<{ challenge: Record<string, unknown>; session: JoinTokenSession }> {
  const nonce = toBase64(platform.crypto.randomBytes(32))
  return { challenge: { Nonce: nonce }, session: { nonce, token: toBase64(facts.token) } }
}

export async function checkJoinTokenAnswer(
  log: CheckLog,
  session: JoinTokenSession,
  proof: Uint8Array,
  binding: Uint8Array | undefined,
  platform: Platform,
): Promise<void> {
  const nonce = fromBase64(session.nonce)
  const signed = binding ? new Uint8Array([...nonce, ...binding]) : nonce
  const expected = await platform.crypto.hmac('SHA-256', fromBase64(session.token), signed)
  if (!timingSafeEqual(expected, proof)) throw log.fail('join_token.proof', 'ERR_CREDENTIAL_MISMATCH', 'join token proof does not match')
  log.pass('join_token.proof', binding ? 'HMAC over the nonce and the key binding' : 'HMAC over the nonce')
}
