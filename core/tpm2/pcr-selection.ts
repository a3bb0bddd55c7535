// TPML_PCR_SELECTION (Part 2 §10.9.7) and TPMS_PCR_SELECTION (§10.6.2).
import { ByteReader } from '../bytes/reader.ts'
import { ByteWriter } from '../bytes/writer.ts'
import { Tpm2Error } from '../errors.ts'
import { algName, isHashAlg } from './constants.ts'

export interface TPMS_PCR_SELECTION {
  readonly hash: number
  /** selected PCR indices, ascending */
  readonly pcrs: readonly number[]
  readonly sizeofSelect: number
}

export type TPML_PCR_SELECTION = readonly TPMS_PCR_SELECTION[]

/** HASH_COUNT: one selection per bank; no TPM has more than a handful of banks */
const MAX_BANKS = 16
/** PCR_SELECT_MAX: 32 bytes is 256 PCRs, far beyond any TPM */
const MAX_SELECT = 32

export function readPcrSelection(r: ByteReader): TPML_PCR_SELECTION {
  const count = r.u32('TPML_PCR_SELECTION.count')
  if (count > MAX_BANKS) throw new Tpm2Error('ERR_TPM2_MALFORMED', `${r.what}: PCR selection count ${count} exceeds ${MAX_BANKS}`)
  const out: TPMS_PCR_SELECTION[] = []
  for (let i = 0; i < count; i++) {
    const hash = r.u16('TPMS_PCR_SELECTION.hash')
    if (!isHashAlg(hash))
      throw new Tpm2Error('ERR_TPM2_UNSUPPORTED_ALGORITHM', `${r.what}: PCR bank ${algName(hash)} is not a supported hash`)
    const sizeofSelect = r.u8('sizeofSelect')
    if (sizeofSelect > MAX_SELECT)
      throw new Tpm2Error('ERR_TPM2_MALFORMED', `${r.what}: sizeofSelect ${sizeofSelect} exceeds ${MAX_SELECT}`)
    const bits = r.take(sizeofSelect, 'pcrSelect')
    const pcrs: number[] = []
    for (let b = 0; b < bits.length; b++) for (let j = 0; j < 8; j++) if (bits[b]! & (1 << j)) pcrs.push(b * 8 + j)
    out.push({ hash, pcrs, sizeofSelect })
  }
  return out
}

export function parsePcrSelection(bytes: Uint8Array, what = 'TPML_PCR_SELECTION'): TPML_PCR_SELECTION {
  const r = new ByteReader(bytes, what)
  const sel = readPcrSelection(r)
  r.expectEnd()
  return sel
}

export function encodePcrSelection(
  selection: readonly { hash: number; pcrs: readonly number[]; sizeofSelect?: number }[],
): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter().u32(selection.length)
  for (const s of selection) {
    const size = s.sizeofSelect ?? Math.max(3, Math.ceil((Math.max(-1, ...s.pcrs) + 1) / 8))
    const bits = new Uint8Array(size)
    for (const p of s.pcrs) {
      if (p < 0 || p >= size * 8) throw new RangeError(`PCR ${p} does not fit a ${size}-byte selection`)
      bits[p >> 3]! |= 1 << (p & 7)
    }
    w.u16(s.hash).u8(size).bytes(bits)
  }
  return w.finish()
}
