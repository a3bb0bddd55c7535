/**
 * The v1 wire format in one place (docs/protocol.md): the JSON shapes of evidence, challenges and
 * answers per attestor type, the encoders an agent uses to build them and the decoders the verifier
 * uses to read them (each attestor's from its folder, core/attestors/<type>/; the boot quote's
 * from boot.ts). SPIRE's Go-JSON conventions: PascalCase keys, standard
 * padded base64, absent = missing or null.
 */
import { toBase64 } from '../bytes/encoding.ts'

export { decodeTpmDevidAnswer, decodeTpmDevidEvidence, decodeTpmEkAnswer, decodeTpmEkEvidence, EVIDENCE_LIMITS } from './evidence.ts'
export { BOOT_ANSWER_LIMITS, decodeBootAnswer } from './boot.ts'
// each attestor's evidence encoder lives in its folder (core/attestors/<type>/wire.ts)
export { encodeTpmDevidEvidence } from '../attestors/tpm-devid/wire.ts'
export { encodeTpmEkEvidence } from '../attestors/tpm-ek/wire.ts'

/** The `CredActivation` of a challenge: TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET bodies, base64. */
export interface WireCredActivation {
  readonly Credential: string
  readonly Secret: string
}

/** The `Quote` of a challenge when the policy has a boot block: the nonce and the PCRs to quote per bank. */
export interface WireQuoteChallenge {
  readonly Nonce: string
  readonly PCRs: Readonly<Record<string, readonly number[]>>
}

/** A challenge of a TPM attestor: a `DevID` nonce when it certifies a DevID, the credential, the boot quote when asked. */
export interface WireChallenge {
  readonly DevID?: string
  readonly CredActivation: WireCredActivation
  readonly Quote?: WireQuoteChallenge
}

/** The `Quote` of an answer. */
export interface WireQuoteAnswer {
  readonly Attest: string
  readonly Signature: string
  readonly PCRValues: readonly string[]
  readonly EventLog: string
}

export function encodeQuoteAnswer(q: {
  attest: Uint8Array
  signature: Uint8Array
  pcrValues: readonly Uint8Array[]
  eventLog: Uint8Array
}): WireQuoteAnswer {
  return {
    Attest: toBase64(q.attest),
    Signature: toBase64(q.signature),
    PCRValues: q.pcrValues.map(toBase64),
    EventLog: toBase64(q.eventLog),
  }
}

/** The answer of one TPM attestor: the activation proof, the DevID signature (when challenged with a DevID nonce) and the boot quote when asked. */
export function encodeAnswer(a: {
  credActivation: Uint8Array
  devIdSignature?: Uint8Array
  quote?: WireQuoteAnswer
}): Record<string, unknown> {
  return {
    ...(a.devIdSignature ? { DevID: toBase64(a.devIdSignature) } : {}),
    CredActivation: toBase64(a.credActivation),
    ...(a.quote ? { Quote: a.quote } : {}),
  }
}

/** TPM_ALG_ID of the PCR bank names a `Quote` challenge uses. */
export const WIRE_PCR_BANKS: Readonly<Record<string, number>> = { sha1: 0x0004, sha256: 0x000b, sha384: 0x000c, sha512: 0x000d }
