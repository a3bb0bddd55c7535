// TPMT_PUBLIC (Part 2 §12.2.4) and TPM2B_PUBLIC (§12.2.5) for RSA and ECC objects: strict parse
// and encode. Every parsed structure keeps `raw`, the exact bytes, because the object's Name is
// the hash of those bytes as received (Part 1 §16), never of a re-encoding.
import { ByteReader } from '../bytes/reader.ts'
import { ByteWriter } from '../bytes/writer.ts'
import { Tpm2Error } from '../errors.ts'
import { algName, curveOf, digestSizeOf, isHashAlg, TPM_ALG } from './constants.ts'

/** TPMT_SYM_DEF_OBJECT (§11.1.7): algorithm NULL, or a block cipher with keyBits and mode */
export interface TPMT_SYM_DEF_OBJECT {
  readonly algorithm: number
  readonly keyBits: number
  readonly mode: number
}

/** TPMT_RSA_SCHEME / TPMT_ECC_SCHEME / TPMT_KDF_SCHEME: the scheme and its hash (NULL when none) */
export interface TPMT_SCHEME {
  readonly scheme: number
  readonly hashAlg: number
}

export interface TPMS_RSA_PARMS {
  readonly symmetric: TPMT_SYM_DEF_OBJECT
  readonly scheme: TPMT_SCHEME
  readonly keyBits: number
  /** as encoded: 0 means the default exponent 65537 */
  readonly exponent: number
}

export interface TPMS_ECC_PARMS {
  readonly symmetric: TPMT_SYM_DEF_OBJECT
  readonly scheme: TPMT_SCHEME
  readonly curveID: number
  readonly kdf: TPMT_SCHEME
}

interface TPMT_PUBLIC_BASE {
  /** exactly the TPMT_PUBLIC bytes parsed (no TPM2B size prefix) */
  readonly raw: Uint8Array
  readonly nameAlg: number
  readonly objectAttributes: number
  readonly authPolicy: Uint8Array
}

export interface TPMT_PUBLIC_RSA extends TPMT_PUBLIC_BASE {
  readonly type: typeof TPM_ALG.RSA
  readonly parameters: TPMS_RSA_PARMS
  /** TPM2B_PUBLIC_KEY_RSA: the modulus, big-endian (empty in templates) */
  readonly unique: Uint8Array
}

export interface TPMT_PUBLIC_ECC extends TPMT_PUBLIC_BASE {
  readonly type: typeof TPM_ALG.ECC
  readonly parameters: TPMS_ECC_PARMS
  /** TPMS_ECC_POINT (empty coordinates in templates) */
  readonly unique: { readonly x: Uint8Array; readonly y: Uint8Array }
}

export type TPMT_PUBLIC = TPMT_PUBLIC_RSA | TPMT_PUBLIC_ECC

/** MAX_RSA_KEY_BYTES for 4096-bit keys; no TPM has larger */
const MAX_RSA_KEY_BYTES = 512
/** the largest ECC coordinate (P-521) */
const MAX_ECC_KEY_BYTES = 66
/** TPM2B_DIGEST maximum: the largest digest (SHA-512) */
const MAX_DIGEST = 64

const RSA_SCHEMES_WITH_HASH = new Set<number>([TPM_ALG.RSASSA, TPM_ALG.RSAPSS, TPM_ALG.OAEP])
const ECC_SCHEMES_WITH_HASH = new Set<number>([TPM_ALG.ECDSA, TPM_ALG.ECDH, TPM_ALG.ECSCHNORR])
const KDF_SCHEMES = new Set<number>([TPM_ALG.KDF1_SP800_56A, TPM_ALG.KDF2, TPM_ALG.KDF1_SP800_108])

function unsupported(what: string, message: string): never {
  throw new Tpm2Error('ERR_TPM2_UNSUPPORTED_ALGORITHM', `${what}: ${message}`)
}

function readHash(r: ByteReader, field: string): number {
  const alg = r.u16(field)
  if (!isHashAlg(alg)) unsupported(r.what, `${field} ${algName(alg)} is not a supported hash algorithm`)
  return alg
}

function readSymmetric(r: ByteReader): TPMT_SYM_DEF_OBJECT {
  const algorithm = r.u16('symmetric.algorithm')
  if (algorithm === TPM_ALG.NULL) return { algorithm, keyBits: 0, mode: TPM_ALG.NULL }
  if (algorithm !== TPM_ALG.AES) unsupported(r.what, `symmetric algorithm ${algName(algorithm)} is not supported (expected AES or NULL)`)
  const keyBits = r.u16('symmetric.keyBits')
  if (keyBits !== 128 && keyBits !== 192 && keyBits !== 256) unsupported(r.what, `AES key size ${keyBits} is not 128, 192 or 256`)
  const mode = r.u16('symmetric.mode')
  if (![TPM_ALG.CFB, TPM_ALG.CBC, TPM_ALG.CTR, TPM_ALG.OFB, TPM_ALG.ECB, TPM_ALG.NULL].includes(mode as never)) {
    unsupported(r.what, `symmetric mode ${algName(mode)} is not a block cipher mode`)
  }
  return { algorithm, keyBits, mode }
}

function readScheme(r: ByteReader, withHash: Set<number>, withoutHash: number[], field: string): TPMT_SCHEME {
  const scheme = r.u16(`${field}.scheme`)
  if (scheme === TPM_ALG.NULL || withoutHash.includes(scheme)) return { scheme, hashAlg: TPM_ALG.NULL }
  if (scheme === TPM_ALG.ECDAA) unsupported(r.what, `${field} ECDAA is not supported`)
  if (!withHash.has(scheme)) unsupported(r.what, `${field} ${algName(scheme)} is not supported`)
  return { scheme, hashAlg: readHash(r, `${field}.hashAlg`) }
}

function parseBody(r: ByteReader): TPMT_PUBLIC {
  const start = r.offset
  const type = r.u16('type')
  const nameAlg = readHash(r, 'nameAlg')
  const objectAttributes = r.u32('objectAttributes')
  const authPolicy = r.sized('authPolicy', MAX_DIGEST)
  if (authPolicy.length !== 0 && authPolicy.length !== digestSizeOf(nameAlg)) {
    throw new Tpm2Error(
      'ERR_TPM2_MALFORMED',
      `${r.what}: authPolicy is ${authPolicy.length} bytes, expected 0 or ${digestSizeOf(nameAlg)} for ${algName(nameAlg)}`,
    )
  }
  if (type === TPM_ALG.RSA) {
    const symmetric = readSymmetric(r)
    const scheme = readScheme(r, RSA_SCHEMES_WITH_HASH, [TPM_ALG.RSAES], 'scheme')
    const keyBits = r.u16('keyBits')
    if (keyBits < 1024 || keyBits > MAX_RSA_KEY_BYTES * 8 || keyBits % 8 !== 0)
      unsupported(r.what, `RSA keyBits ${keyBits} is not supported`)
    const exponent = r.u32('exponent')
    if (exponent !== 0 && (exponent < 3 || exponent % 2 === 0)) {
      throw new Tpm2Error('ERR_TPM2_MALFORMED', `${r.what}: RSA exponent ${exponent} is not a valid public exponent`)
    }
    const unique = r.sized('unique (RSA modulus)', MAX_RSA_KEY_BYTES)
    if (unique.length !== 0 && unique.length !== keyBits / 8) {
      throw new Tpm2Error(
        'ERR_TPM2_MALFORMED',
        `${r.what}: RSA modulus is ${unique.length} bytes, expected ${keyBits / 8} for keyBits ${keyBits}`,
      )
    }
    const raw = r.bytes.subarray(start, r.offset)
    return { raw, type, nameAlg, objectAttributes, authPolicy, parameters: { symmetric, scheme, keyBits, exponent }, unique }
  }
  if (type === TPM_ALG.ECC) {
    const symmetric = readSymmetric(r)
    const scheme = readScheme(r, ECC_SCHEMES_WITH_HASH, [], 'scheme')
    const curveID = r.u16('curveID')
    const curve = curveOf(curveID)
    if (!curve) unsupported(r.what, `ECC curve 0x${curveID.toString(16).padStart(4, '0')} is not NIST P-256, P-384 or P-521`)
    const kdf = readScheme(r, KDF_SCHEMES, [], 'kdf')
    const x = r.sized('unique.x', MAX_ECC_KEY_BYTES)
    const y = r.sized('unique.y', MAX_ECC_KEY_BYTES)
    if (x.length > curve.size || y.length > curve.size) {
      throw new Tpm2Error('ERR_TPM2_MALFORMED', `${r.what}: ECC point coordinates exceed ${curve.size} bytes for ${curve.crv}`)
    }
    const raw = r.bytes.subarray(start, r.offset)
    return { raw, type, nameAlg, objectAttributes, authPolicy, parameters: { symmetric, scheme, curveID, kdf }, unique: { x, y } }
  }
  return unsupported(r.what, `object type ${algName(type)} is not RSA or ECC`)
}

/** Parses a TPMT_PUBLIC with no size prefix; trailing bytes are an error. */
export function parseTpmtPublic(bytes: Uint8Array, what = 'TPMT_PUBLIC'): TPMT_PUBLIC {
  const r = new ByteReader(bytes, what)
  const pub = parseBody(r)
  r.expectEnd()
  return pub
}

/** Parses a TPM2B_PUBLIC (u16 size, then TPMT_PUBLIC); the size must cover exactly the structure. */
export function parseTpm2bPublic(bytes: Uint8Array, what = 'TPM2B_PUBLIC'): TPMT_PUBLIC {
  const r = new ByteReader(bytes, what)
  const inner = r.sized('publicArea')
  r.expectEnd()
  return parseTpmtPublic(inner, what)
}

/**
 * Either form, as tools write them: tpm2-tools writes TPM2B_PUBLIC, SPIRE TPMT_PUBLIC. The prefix
 * is recognised when the first u16 equals the remaining length (a TPMT_PUBLIC starts with its type,
 * 0x0001 or 0x0023, which can never equal a real structure's remaining length).
 */
export function parsePublicArea(bytes: Uint8Array, what = 'public area'): TPMT_PUBLIC {
  if (bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === bytes.length - 2) return parseTpm2bPublic(bytes, what)
  return parseTpmtPublic(bytes, what)
}

/** Encodes a TPMT_PUBLIC (templates for CreatePrimary/Create, and round-trip tests). */
export function encodeTpmtPublic(pub: Omit<TPMT_PUBLIC_RSA, 'raw'> | Omit<TPMT_PUBLIC_ECC, 'raw'>): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter().u16(pub.type).u16(pub.nameAlg).u32(pub.objectAttributes).sized(pub.authPolicy)
  const p = pub.parameters
  w.u16(p.symmetric.algorithm)
  if (p.symmetric.algorithm !== TPM_ALG.NULL) w.u16(p.symmetric.keyBits).u16(p.symmetric.mode)
  w.u16(p.scheme.scheme)
  if (p.scheme.hashAlg !== TPM_ALG.NULL) w.u16(p.scheme.hashAlg)
  if (pub.type === TPM_ALG.RSA) {
    const rp = pub.parameters as TPMS_RSA_PARMS
    w.u16(rp.keyBits)
      .u32(rp.exponent)
      .sized(pub.unique as Uint8Array)
  } else {
    const ep = pub.parameters as TPMS_ECC_PARMS
    w.u16(ep.curveID).u16(ep.kdf.scheme)
    if (ep.kdf.hashAlg !== TPM_ALG.NULL) w.u16(ep.kdf.hashAlg)
    const u = pub.unique as { x: Uint8Array; y: Uint8Array }
    w.sized(u.x).sized(u.y)
  }
  return w.finish()
}

/** The TPM2B_PUBLIC form (u16 size prefix) of a TPMT_PUBLIC. */
export function toTpm2bPublic(tpmtPublic: Uint8Array): Uint8Array<ArrayBuffer> {
  return new ByteWriter().sized(tpmtPublic).finish()
}
