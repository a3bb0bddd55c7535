/**
 * Decoding of evidence and answers (docs/protocol.md: SPIRE's Go-JSON shapes, PascalCase keys,
 * standard base64) with size bounds checked on the base64 text BEFORE decoding, so oversized
 * input is refused before any allocation or crypto. `null` means absent (Go encodes nil that way);
 * unknown keys are ignored (Go's Unmarshal does the same). A platform's `decodeBase64` fast path
 * (runtimes/node: Buffer) is used when given; it accepts exactly the canonical encodings, and
 * anything else is decoded by core's strict decoder, which names the fault.
 */
import { fromBase64 } from '../bytes/encoding.ts'
import { AttestationError, VerifyError } from '../errors.ts'
import type { Platform } from '../platform.ts'

/** Size bounds in bytes (decoded), protocol §3.1 item 1. */
export const EVIDENCE_LIMITS = {
  /** one DER certificate */
  certificate: 8 * 1024,
  /** DevIDCert entries (leaf + intermediates), EKIntermediates entries */
  chainLength: 8,
  /** TPMT_PUBLIC (RSA-4096 with a policy is ~600) */
  tpmPublic: 1024,
  /** TPMS_ATTEST */
  attest: 1024,
  /** TPMT_SIGNATURE (RSA-4096: 518) */
  tpmSignature: 1024,
  /** DevID signature in an answer (raw RSA-4096 512, DER ECDSA P-521 139) */
  devIdSignature: 1024,
  /** CredActivation answer: a digest (activated secret) or an HMAC-SHA256 */
  activationProof: 64,
} as const

export function malformed(message: string, field: string): AttestationError {
  return new AttestationError('ERR_EVIDENCE_MALFORMED', message, { detail: { field } })
}

export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

export type Decode = Platform['decodeBase64']

/** base64 text → bytes, refusing anything whose decoded size could exceed `max` before decoding. */
export function decodeBounded(v: unknown, field: string, max: number, decode?: Decode): Uint8Array {
  if (typeof v !== 'string') throw malformed(`${field}: expected a base64 string, found ${typeName(v)}`, field)
  if (v.length > Math.ceil(max / 3) * 4) {
    throw new AttestationError('ERR_INPUT_TOO_LARGE', `${field}: ${v.length} base64 characters exceed the bound of ${max} bytes`, {
      detail: { field, max },
    })
  }
  let bytes: Uint8Array
  try {
    bytes = decode?.(v) ?? fromBase64(v, field)
  } catch (e) {
    if (e instanceof VerifyError) throw malformed(e.message, field)
    throw e
  }
  if (bytes.length > max) {
    throw new AttestationError('ERR_INPUT_TOO_LARGE', `${field}: ${bytes.length} bytes exceed the bound of ${max}`, {
      detail: { field, max },
    })
  }
  if (bytes.length === 0) throw malformed(`${field}: empty`, field)
  return bytes
}

export function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`${what}: expected an object, found ${typeName(v)}`, what)
  return v as Record<string, unknown>
}

function present(o: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(o, key) && o[key] !== null && o[key] !== undefined
}

export function required(o: Record<string, unknown>, what: string, key: string, max: number, decode: Decode): Uint8Array {
  if (!present(o, key)) throw malformed(`${what}.${key}: missing`, `${what}.${key}`)
  return decodeBounded(o[key], `${what}.${key}`, max, decode)
}

export function optional(o: Record<string, unknown>, what: string, key: string, max: number, decode: Decode): Uint8Array | undefined {
  return present(o, key) ? decodeBounded(o[key], `${what}.${key}`, max, decode) : undefined
}

export function certList(o: Record<string, unknown>, what: string, key: string, min: number, decode: Decode): Uint8Array[] {
  const field = `${what}.${key}`
  if (!present(o, key)) {
    if (min > 0) throw malformed(`${field}: missing`, field)
    return []
  }
  const v = o[key]
  if (!Array.isArray(v)) throw malformed(`${field}: expected an array of base64 strings, found ${typeName(v)}`, field)
  if (v.length > EVIDENCE_LIMITS.chainLength) {
    throw new AttestationError(
      'ERR_INPUT_TOO_LARGE',
      `${field}: ${v.length} certificates exceed the bound of ${EVIDENCE_LIMITS.chainLength}`,
      {
        detail: { field, max: EVIDENCE_LIMITS.chainLength },
      },
    )
  }
  if (v.length < min) throw malformed(`${field}: expected at least ${min} certificate`, field)
  return v.map((x, i) => decodeBounded(x, `${field}[${i}]`, EVIDENCE_LIMITS.certificate, decode))
}
