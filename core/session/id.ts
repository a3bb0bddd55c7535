import { toBase64Url } from '../bytes/encoding.ts'
import type { Platform } from '../platform.ts'

/** Bytes of randomness in a session ID: 128 bits or more (issue 3 "Sessions"). */
export const SESSION_ID_BYTES = 24

/** A fresh random session ID: 192 bits from the platform RNG, base64url (32 characters). */
export function newSessionId(platform: Platform): string {
  return toBase64Url(platform.crypto.randomBytes(SESSION_ID_BYTES))
}

const SESSION_ID = /^[A-Za-z0-9_-]{22,64}$/

/** Shape check before any store lookup (a hostile ID never reaches a shared store). */
export function isWellFormedSessionId(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID.test(id)
}
