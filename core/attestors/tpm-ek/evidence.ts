/**
 * The tpm_ek wire decoders: its evidence and its answer (docs/protocol.md), on the shared bounded
 * decoders of core/attestation/decode.ts.
 */
import type { Platform } from '../../platform.ts'
import { asObject, certList, EVIDENCE_LIMITS, optional, required } from '../../attestor/decode.ts'

export interface TpmEkEvidence {
  readonly ekCert?: Uint8Array
  readonly ekIntermediates: readonly Uint8Array[]
  readonly ekPub: Uint8Array
  readonly akPub: Uint8Array
}

export interface TpmEkAnswer {
  readonly credActivation: Uint8Array
}

/** EK-only evidence: `EKCert` (optional), `EKPub`, `AKPub`. */
export function decodeTpmEkEvidence(v: unknown, platform?: Pick<Platform, 'decodeBase64'>): TpmEkEvidence {
  const decode = platform?.decodeBase64
  const what = 'tpm_ek'
  const o = asObject(v, what)
  const ekCert = optional(o, what, 'EKCert', EVIDENCE_LIMITS.certificate, decode)
  return {
    ...(ekCert ? { ekCert } : {}),
    ekIntermediates: certList(o, what, 'EKIntermediates', 0, decode),
    ekPub: required(o, what, 'EKPub', EVIDENCE_LIMITS.tpmPublic, decode),
    akPub: required(o, what, 'AKPub', EVIDENCE_LIMITS.tpmPublic, decode),
  }
}

export function decodeTpmEkAnswer(v: unknown, platform?: Pick<Platform, 'decodeBase64'>): TpmEkAnswer {
  const decode = platform?.decodeBase64
  const what = 'tpm_ek answer'
  const o = asObject(v, what)
  return { credActivation: required(o, what, 'CredActivation', EVIDENCE_LIMITS.activationProof, decode) }
}
