// Attestation and signing commands (Part 3 §18, §20, §15): Certify, Quote, Sign, Hash.
import { ByteWriter } from '../../bytes/writer.ts'
import { encodePcrSelection } from '../pcr-selection.ts'
import type { TPMT_SIGNATURE } from '../signature.ts'
import { TPM_CC } from './codes.ts'
import { type AuthCommand, EMPTY, makeCommand, type TpmCommand } from './frame.ts'
import {
  NULL_HASHCHECK,
  NULL_SCHEME,
  readTicket,
  readTrailingSignature,
  type SigScheme,
  type Ticket,
  writeSigScheme,
  writeTicket,
} from './structures.ts'

export interface AttestResult {
  /** TPMS_ATTEST bytes (TPM2B_ATTEST body): the signed message */
  readonly attest: Uint8Array
  readonly signature: TPMT_SIGNATURE
}

/** TPM2_Certify (Part 3 §18.2): `objectHandle` certified by `signHandle`, with qualifyingData. */
export function certify(
  objectHandle: number,
  objectAuth: AuthCommand,
  signHandle: number,
  signAuth: AuthCommand,
  qualifyingData: Uint8Array = EMPTY,
  inScheme: SigScheme = NULL_SCHEME,
): TpmCommand<AttestResult> {
  const w = new ByteWriter().sized(qualifyingData)
  writeSigScheme(w, inScheme)
  return makeCommand('Certify', TPM_CC.Certify, [objectHandle, signHandle], [objectAuth, signAuth], w.finish(), 0, (_h, r) => ({
    attest: r.sized('certifyInfo'),
    signature: readTrailingSignature(r),
  }))
}

/** TPM2_Quote (Part 3 §18.4) over the selected PCRs. */
export function quote(
  signHandle: number,
  signAuth: AuthCommand,
  qualifyingData: Uint8Array,
  pcrSelect: readonly { hash: number; pcrs: readonly number[] }[],
  inScheme: SigScheme = NULL_SCHEME,
): TpmCommand<AttestResult> {
  const w = new ByteWriter().sized(qualifyingData)
  writeSigScheme(w, inScheme)
  w.bytes(encodePcrSelection(pcrSelect))
  return makeCommand('Quote', TPM_CC.Quote, [signHandle], [signAuth], w.finish(), 0, (_h, r) => ({
    attest: r.sized('quoted'),
    signature: readTrailingSignature(r),
  }))
}

/** TPM2_Sign (Part 3 §20.2) of a digest; unrestricted keys take the NULL ticket. */
export function sign(
  keyHandle: number,
  auth: AuthCommand,
  digest: Uint8Array,
  inScheme: SigScheme = NULL_SCHEME,
  validation?: Ticket,
): TpmCommand<TPMT_SIGNATURE> {
  const w = new ByteWriter().sized(digest)
  writeSigScheme(w, inScheme)
  writeTicket(w, validation ?? NULL_HASHCHECK)
  return makeCommand('Sign', TPM_CC.Sign, [keyHandle], [auth], w.finish(), 0, (_h, r) => readTrailingSignature(r))
}

/** TPM2_Hash (Part 3 §15.4): data ≤ MAX_DIGEST_BUFFER (1024). */
export function hash(data: Uint8Array, hashAlg: number, hierarchy: number): TpmCommand<{ outHash: Uint8Array; validation: Ticket }> {
  const params = new ByteWriter().sized(data).u16(hashAlg).u32(hierarchy).finish()
  return makeCommand('Hash', TPM_CC.Hash, [], [], params, 0, (_h, r) => ({
    outHash: r.sized('outHash'),
    validation: readTicket(r, 'validation'),
  }))
}
