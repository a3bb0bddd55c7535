/** The tpm_ek evidence an agent sends (docs/protocol.md §10), encoded; re-exported by core/attestation/wire.ts. */
import { toBase64 } from '../../bytes/encoding.ts'

export function encodeTpmEkEvidence(e: { ekCert?: Uint8Array; ekPub: Uint8Array; akPub: Uint8Array }): Record<string, unknown> {
  return { ...(e.ekCert ? { EKCert: toBase64(e.ekCert) } : {}), EKPub: toBase64(e.ekPub), AKPub: toBase64(e.akPub) }
}
