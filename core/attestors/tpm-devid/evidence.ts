/**
 * The tpm_devid wire decoders: its evidence and its answer (docs/protocol.md), on the shared bounded
 * decoders of core/attestation/decode.ts.
 */
import type { Platform } from '../../platform.ts'
import { asObject, certList, EVIDENCE_LIMITS, optional, required } from '../../attestor/decode.ts'

export interface TpmDevidEvidence {
  /** DER, leaf first */
  readonly devIdCerts: readonly Uint8Array[]
  readonly devIdPub: Uint8Array
  readonly ekCert?: Uint8Array
  /** vouch extension: EK intermediates read from NV */
  readonly ekIntermediates: readonly Uint8Array[]
  readonly ekPub: Uint8Array
  readonly akPub: Uint8Array
  readonly certifiedDevId: Uint8Array
  readonly certificationSignature: Uint8Array
}

export interface TpmDevidAnswer {
  readonly devIdSignature: Uint8Array
  readonly credActivation: Uint8Array
}

/** SPIRE's AttestationRequest (protocol §2.1) plus the optional `EKIntermediates`. */
export function decodeTpmDevidEvidence(v: unknown, platform?: Pick<Platform, 'decodeBase64'>): TpmDevidEvidence {
  const decode = platform?.decodeBase64
  const what = 'tpm_devid'
  const o = asObject(v, what)
  const ekCert = optional(o, what, 'EKCert', EVIDENCE_LIMITS.certificate, decode)
  return {
    devIdCerts: certList(o, what, 'DevIDCert', 1, decode),
    devIdPub: required(o, what, 'DevIDPub', EVIDENCE_LIMITS.tpmPublic, decode),
    ...(ekCert ? { ekCert } : {}),
    ekIntermediates: certList(o, what, 'EKIntermediates', 0, decode),
    ekPub: required(o, what, 'EKPub', EVIDENCE_LIMITS.tpmPublic, decode),
    akPub: required(o, what, 'AKPub', EVIDENCE_LIMITS.tpmPublic, decode),
    certifiedDevId: required(o, what, 'CertifiedDevID', EVIDENCE_LIMITS.attest, decode),
    certificationSignature: required(o, what, 'CertificationSignature', EVIDENCE_LIMITS.tpmSignature, decode),
  }
}

/** SPIRE's ChallengeResponse (protocol §2.3). */
export function decodeTpmDevidAnswer(v: unknown, platform?: Pick<Platform, 'decodeBase64'>): TpmDevidAnswer {
  const decode = platform?.decodeBase64
  const what = 'tpm_devid answer'
  const o = asObject(v, what)
  return {
    devIdSignature: required(o, what, 'DevID', EVIDENCE_LIMITS.devIdSignature, decode),
    credActivation: required(o, what, 'CredActivation', EVIDENCE_LIMITS.activationProof, decode),
  }
}
