/** The tpm_devid evidence an agent sends (docs/protocol.md §2.2), encoded; re-exported by core/attestation/wire.ts. */
import { toBase64 } from '../../bytes/encoding.ts'

export function encodeTpmDevidEvidence(e: {
  devIdCerts: readonly Uint8Array[]
  devIdPub: Uint8Array
  ekCert?: Uint8Array
  ekPub: Uint8Array
  akPub: Uint8Array
  certifiedDevId: Uint8Array
  certificationSignature: Uint8Array
}): Record<string, unknown> {
  return {
    DevIDCert: e.devIdCerts.map(toBase64),
    DevIDPub: toBase64(e.devIdPub),
    ...(e.ekCert ? { EKCert: toBase64(e.ekCert) } : {}),
    EKPub: toBase64(e.ekPub),
    AKPub: toBase64(e.akPub),
    CertifiedDevID: toBase64(e.certifiedDevId),
    CertificationSignature: toBase64(e.certificationSignature),
  }
}
