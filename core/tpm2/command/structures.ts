// Small structures shared by the commands (Part 2): TPM2B_PUBLIC, TPMT_SIG_SCHEME, tickets,
// TPM2B_SENSITIVE_CREATE. Readers take a ByteReader positioned at the structure.
import type { ByteReader } from '../../bytes/reader.ts'
import { ByteWriter } from '../../bytes/writer.ts'
import { TPM_ALG, TPM_RH, TPM_ST } from '../constants.ts'
import { parseTpmtPublic, type TPMT_PUBLIC } from '../public.ts'
import { parseTpmtSignature, type TPMT_SIGNATURE } from '../signature.ts'
import { utf8 } from '../../bytes/encoding.ts'

/** TPMT_SIG_SCHEME (§11.2.1.5): NULL = use the key's own scheme */
export interface SigScheme {
  readonly scheme: number
  readonly hashAlg?: number
}
export const NULL_SCHEME: SigScheme = { scheme: TPM_ALG.NULL }

export function writeSigScheme(w: ByteWriter, s: SigScheme): void {
  w.u16(s.scheme)
  if (s.scheme !== TPM_ALG.NULL) w.u16(s.hashAlg ?? TPM_ALG.SHA256)
}

/** TPMT_TK_* (§10.7): tag, hierarchy, digest */
export interface Ticket {
  readonly tag: number
  readonly hierarchy: number
  readonly digest: Uint8Array
}

/** The NULL hash-check ticket for signing with an unrestricted key (Part 2 §10.7.6). */
export const NULL_HASHCHECK: Ticket = { tag: TPM_ST.HASHCHECK, hierarchy: TPM_RH.NULL, digest: new Uint8Array(0) }

export function readTicket(r: ByteReader, field: string): Ticket {
  return { tag: r.u16(`${field}.tag`), hierarchy: r.u32(`${field}.hierarchy`), digest: r.sized(`${field}.digest`) }
}

export function writeTicket(w: ByteWriter, t: Ticket): void {
  w.u16(t.tag).u32(t.hierarchy).sized(t.digest)
}

/** A TPM2B_PUBLIC from a response: parsed, plus the exact TPMT_PUBLIC bytes (`pub.raw`). */
export function readTpm2bPublic(r: ByteReader, field: string): TPMT_PUBLIC {
  return parseTpmtPublic(r.sized(field), field)
}

/** TPMT_SIGNATURE: the rest of the parameters (it ends every signing response). */
export function readTrailingSignature(r: ByteReader): TPMT_SIGNATURE {
  return parseTpmtSignature(new Uint8Array(r.take(r.remaining, 'signature')))
}

/** TPM2B_SENSITIVE_CREATE (§11.1.15): userAuth and data (empty for asymmetric keys). */
export function sensitiveCreate(userAuth: string | Uint8Array = '', data: Uint8Array = new Uint8Array(0)): Uint8Array<ArrayBuffer> {
  const auth = typeof userAuth === 'string' ? utf8(userAuth) : userAuth
  const inner = new ByteWriter().sized(auth).sized(data).finish()
  return new ByteWriter().sized(inner).finish()
}

/** Strip a TPM2B size prefix if present: the first u16 equals the remaining length (spec 6.2 interop trap). */
export function stripTpm2bPrefix(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === bytes.length - 2) return bytes.subarray(2)
  return bytes
}
