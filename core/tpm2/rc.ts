// TPM_RC response codes (TPM 2.0 Library Part 2 §6.6): decode a response code to its spec name, with
// the handle / session / parameter number it points at (format-one codes), so errors can say e.g.
// "TPM_RC_AUTH_FAIL (session 1)". Warnings TPM_RC_RETRY / TPM_RC_YIELDED / TPM_RC_TESTING are retryable.
import { Tpm2Error } from '../errors.ts'

export const TPM_RC_SUCCESS = 0x000
const RC_VER1 = 0x100
const RC_FMT1 = 0x080
const RC_WARN = 0x900

/** Format-zero VER1 errors (§6.6.3), value = RC_VER1 + n */
const VER1: Readonly<Record<number, string>> = {
  0x000: 'TPM_RC_INITIALIZE',
  0x001: 'TPM_RC_FAILURE',
  0x003: 'TPM_RC_SEQUENCE',
  0x00b: 'TPM_RC_PRIVATE',
  0x019: 'TPM_RC_HMAC',
  0x020: 'TPM_RC_DISABLED',
  0x021: 'TPM_RC_EXCLUSIVE',
  0x024: 'TPM_RC_AUTH_TYPE',
  0x025: 'TPM_RC_AUTH_MISSING',
  0x026: 'TPM_RC_POLICY',
  0x027: 'TPM_RC_PCR',
  0x028: 'TPM_RC_PCR_CHANGED',
  0x02d: 'TPM_RC_UPGRADE',
  0x02e: 'TPM_RC_TOO_MANY_CONTEXTS',
  0x02f: 'TPM_RC_AUTH_UNAVAILABLE',
  0x030: 'TPM_RC_REBOOT',
  0x031: 'TPM_RC_UNBALANCED',
  0x042: 'TPM_RC_COMMAND_SIZE',
  0x043: 'TPM_RC_COMMAND_CODE',
  0x044: 'TPM_RC_AUTHSIZE',
  0x045: 'TPM_RC_AUTH_CONTEXT',
  0x046: 'TPM_RC_NV_RANGE',
  0x047: 'TPM_RC_NV_SIZE',
  0x048: 'TPM_RC_NV_LOCKED',
  0x049: 'TPM_RC_NV_AUTHORIZATION',
  0x04a: 'TPM_RC_NV_UNINITIALIZED',
  0x04b: 'TPM_RC_NV_SPACE',
  0x04c: 'TPM_RC_NV_DEFINED',
  0x050: 'TPM_RC_BAD_CONTEXT',
  0x051: 'TPM_RC_CPHASH',
  0x052: 'TPM_RC_PARENT',
  0x053: 'TPM_RC_NEEDS_TEST',
  0x054: 'TPM_RC_NO_RESULT',
  0x055: 'TPM_RC_SENSITIVE',
}

/** Format-one errors (§6.6.3), value = RC_FMT1 + n */
const FMT1: Readonly<Record<number, string>> = {
  0x001: 'TPM_RC_ASYMMETRIC',
  0x002: 'TPM_RC_ATTRIBUTES',
  0x003: 'TPM_RC_HASH',
  0x004: 'TPM_RC_VALUE',
  0x005: 'TPM_RC_HIERARCHY',
  0x007: 'TPM_RC_KEY_SIZE',
  0x008: 'TPM_RC_MGF',
  0x009: 'TPM_RC_MODE',
  0x00a: 'TPM_RC_TYPE',
  0x00b: 'TPM_RC_HANDLE',
  0x00c: 'TPM_RC_KDF',
  0x00d: 'TPM_RC_RANGE',
  0x00e: 'TPM_RC_AUTH_FAIL',
  0x00f: 'TPM_RC_NONCE',
  0x010: 'TPM_RC_PP',
  0x012: 'TPM_RC_SCHEME',
  0x015: 'TPM_RC_SIZE',
  0x016: 'TPM_RC_SYMMETRIC',
  0x017: 'TPM_RC_TAG',
  0x018: 'TPM_RC_SELECTOR',
  0x01a: 'TPM_RC_INSUFFICIENT',
  0x01b: 'TPM_RC_SIGNATURE',
  0x01c: 'TPM_RC_KEY',
  0x01d: 'TPM_RC_POLICY_FAIL',
  0x01f: 'TPM_RC_INTEGRITY',
  0x020: 'TPM_RC_TICKET',
  0x021: 'TPM_RC_RESERVED_BITS',
  0x022: 'TPM_RC_BAD_AUTH',
  0x023: 'TPM_RC_EXPIRED',
  0x024: 'TPM_RC_POLICY_CC',
  0x025: 'TPM_RC_BINDING',
  0x026: 'TPM_RC_CURVE',
  0x027: 'TPM_RC_ECC_POINT',
}

/** Warnings (§6.6.3), value = RC_WARN + n */
const WARN: Readonly<Record<number, string>> = {
  0x001: 'TPM_RC_CONTEXT_GAP',
  0x002: 'TPM_RC_OBJECT_MEMORY',
  0x003: 'TPM_RC_SESSION_MEMORY',
  0x004: 'TPM_RC_MEMORY',
  0x005: 'TPM_RC_SESSION_HANDLES',
  0x006: 'TPM_RC_OBJECT_HANDLES',
  0x007: 'TPM_RC_LOCALITY',
  0x008: 'TPM_RC_YIELDED',
  0x009: 'TPM_RC_CANCELED',
  0x00a: 'TPM_RC_TESTING',
  0x010: 'TPM_RC_REFERENCE_H0',
  0x011: 'TPM_RC_REFERENCE_H1',
  0x012: 'TPM_RC_REFERENCE_H2',
  0x013: 'TPM_RC_REFERENCE_H3',
  0x014: 'TPM_RC_REFERENCE_H4',
  0x015: 'TPM_RC_REFERENCE_H5',
  0x016: 'TPM_RC_REFERENCE_H6',
  0x018: 'TPM_RC_REFERENCE_S0',
  0x019: 'TPM_RC_REFERENCE_S1',
  0x01a: 'TPM_RC_REFERENCE_S2',
  0x01b: 'TPM_RC_REFERENCE_S3',
  0x01c: 'TPM_RC_REFERENCE_S4',
  0x01d: 'TPM_RC_REFERENCE_S5',
  0x01e: 'TPM_RC_REFERENCE_S6',
  0x020: 'TPM_RC_NV_RATE',
  0x021: 'TPM_RC_LOCKOUT',
  0x022: 'TPM_RC_RETRY',
  0x023: 'TPM_RC_NV_UNAVAILABLE',
}

export interface DecodedRc {
  readonly rc: number
  /** spec name, e.g. TPM_RC_AUTH_FAIL; `TPM_RC_0x....` when unknown */
  readonly name: string
  /** the base code without handle/session/parameter bits, e.g. 0x08e for TPM_RC_AUTH_FAIL */
  readonly base: number
  readonly kind: 'success' | 'error' | 'warning' | 'tpm1.2' | 'vendor' | 'layer'
  /** format-one: which handle (1-7), session (1-7) or parameter (1-15) the code refers to */
  readonly handle?: number
  readonly session?: number
  readonly parameter?: number
}

/** Decode a TPM_RC (§6.6 / Part 1 §39.4). */
export function decodeRc(rc: number): DecodedRc {
  rc >>>= 0
  const hex = `0x${rc.toString(16).padStart(3, '0')}`
  if (rc === 0) return { rc, name: 'TPM_RC_SUCCESS', base: 0, kind: 'success' }
  if (rc >>> 16 !== 0) return { rc, name: `TSS layer ${rc >>> 16} code ${hex}`, base: rc, kind: 'layer' }
  if (rc & RC_FMT1) {
    const n = rc & 0x3f
    const base = RC_FMT1 + n
    const name = FMT1[n] ?? `TPM_RC_${hex}`
    const num = (rc >>> 8) & 0xf
    if (rc & 0x40) return { rc, name, base, kind: 'error', parameter: num }
    if (num & 0x8) return { rc, name, base, kind: 'error', session: num & 0x7 }
    return num ? { rc, name, base, kind: 'error', handle: num } : { rc, name, base, kind: 'error' }
  }
  if (!(rc & RC_VER1)) return { rc, name: `TPM 1.2 code ${hex}`, base: rc, kind: 'tpm1.2' }
  if (rc & 0x400) return { rc, name: `vendor code ${hex}`, base: rc, kind: 'vendor' }
  if ((rc & RC_WARN) === RC_WARN) {
    const n = rc & 0x7f
    return { rc, name: WARN[n] ?? `TPM_RC_${hex}`, base: rc, kind: 'warning' }
  }
  const n = rc & 0x7f
  return { rc, name: VER1[n] ?? `TPM_RC_${hex}`, base: rc, kind: 'error' }
}

/** "TPM_RC_AUTH_FAIL (session 1, 0x98e)" */
export function describeRc(rc: number): string {
  const d = decodeRc(rc)
  const where = d.handle ? `handle ${d.handle}, ` : d.session ? `session ${d.session}, ` : d.parameter ? `parameter ${d.parameter}, ` : ''
  return `${d.name} (${where}0x${d.rc.toString(16)})`
}

/** Warnings after which the same command may simply be sent again (Part 1 §39.4, SPIRE retries RETRY). */
export function isRetryable(rc: number): boolean {
  const name = decodeRc(rc).name
  return name === 'TPM_RC_RETRY' || name === 'TPM_RC_YIELDED' || name === 'TPM_RC_TESTING'
}

/** A TPM error response: `rc`, its decoded name, and the command that failed. */
export class TpmResponseError extends Tpm2Error {
  readonly rc: number
  readonly rcName: string
  readonly decoded: DecodedRc
  constructor(command: string, rc: number, hint?: string) {
    const d = decodeRc(rc)
    super('ERR_TPM2_RESPONSE_CODE', `${command} failed: ${describeRc(rc)}${hint ? `: ${hint}` : ''}`, {
      detail: { command, rc, rcName: d.name },
    })
    this.rc = rc
    this.rcName = d.name
    this.decoded = d
  }
}
