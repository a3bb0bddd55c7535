/**
 * Sealed sessions: the session state travels to the agent encrypted and authenticated under a
 * server key (AES-256-GCM), and comes back with the answer. A start leaves no server state.
 *
 * Token (base64url of):
 *   version (1 byte, 1) | keyIdLength (1) | keyId (ASCII) | expiresAt (8, ms, big-endian)
 *   | useOnceId (16 random bytes) | iv (12) | AES-GCM(JSON value) || tag (16)
 * Everything before the IV is the header and the GCM additional data: the version, key id, expiry
 * and use-once id cannot be changed without the tag failing.
 *
 * Keys: a keyring of several keys valid for opening, exactly one for sealing; a retired key still
 * opens (so its tokens are recognised) but is refused with its own message.
 */
import { fromBase64Url, toBase64Url } from '../bytes/encoding.ts'
import { AttestationError } from '../errors.ts'
import { SESSION_EXPIRED, SESSION_KEY_RETIRED, UNKNOWN_SESSION } from '../messages.ts'
import type { Platform } from '../platform.ts'

export const SEALED_VERSION = 1
/** bytes of an AES-256 key */
export const SESSION_KEY_BYTES = 32
/** longest token accepted (characters); a start's sealed state is a few KiB */
export const MAX_SEALED_TOKEN_CHARS = 12_288
const MIN_SEALED_TOKEN_CHARS = 64
const USE_ONCE_ID_BYTES = 16
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/
const TOKEN = /^[A-Za-z0-9_-]+$/
// one of each for every token: stateless between calls (no streaming)
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export interface SessionKey {
  readonly id: string
  /** 32 bytes */
  readonly key: Uint8Array
  /** the one key new sessions are sealed with */
  readonly seal?: boolean
  /** still opens, but its sessions are refused (ERR_SESSION_KEY_RETIRED) */
  readonly retired?: boolean
}

export interface SessionKeyring {
  readonly sealKey: SessionKey
  readonly keys: ReadonlyMap<string, SessionKey>
}

/** Checks the list and makes the keyring: unique well-formed ids, 32-byte keys, exactly one sealing key (not retired). */
export function makeSessionKeyring(keys: readonly SessionKey[]): SessionKeyring {
  const byId = new Map<string, SessionKey>()
  for (const k of keys) {
    if (typeof k.id !== 'string' || !KEY_ID.test(k.id)) throw new RangeError('session keys: each id must be 1 to 32 of A-Z a-z 0-9 . _ -')
    if (!(k.key instanceof Uint8Array) || k.key.length !== SESSION_KEY_BYTES)
      throw new RangeError(`session keys: key ${k.id} must be ${SESSION_KEY_BYTES} bytes`)
    if (byId.has(k.id)) throw new RangeError(`session keys: duplicate id ${k.id}`)
    if (k.seal && k.retired) throw new RangeError(`session keys: key ${k.id} cannot both seal and be retired`)
    byId.set(k.id, k)
  }
  const sealing = keys.filter((k) => k.seal)
  if (sealing.length !== 1) throw new RangeError(`session keys: exactly one key must have seal: true (found ${sealing.length})`)
  return { sealKey: sealing[0]!, keys: byId }
}

/** A keyring of one fresh random key (one replica, sessions do not survive a restart). */
export function makeRandomSessionKeyring(platform: Platform): SessionKeyring {
  return makeSessionKeyring([{ id: 'process', key: platform.crypto.randomBytes(SESSION_KEY_BYTES), seal: true }])
}

export interface OpenedSession<T> {
  readonly value: T
  readonly expiresAt: number
  /** base64url, unique per sealed session: the key of its use-once record */
  readonly useOnceId: string
  readonly keyId: string
}

/** Shape check before any decoding (a hostile id never costs more than a regex). */
export function isWellFormedSealedToken(token: unknown): token is string {
  return typeof token === 'string' && token.length >= MIN_SEALED_TOKEN_CHARS && token.length <= MAX_SEALED_TOKEN_CHARS && TOKEN.test(token)
}

function header(keyId: string, expiresAt: number, useOnceId: Uint8Array): Uint8Array {
  const h = new Uint8Array(2 + keyId.length + 8 + USE_ONCE_ID_BYTES)
  h[0] = SEALED_VERSION
  h[1] = keyId.length
  for (let i = 0; i < keyId.length; i++) h[2 + i] = keyId.charCodeAt(i)
  const view = new DataView(h.buffer)
  view.setUint32(2 + keyId.length, Math.floor(expiresAt / 2 ** 32))
  view.setUint32(6 + keyId.length, expiresAt >>> 0)
  h.set(useOnceId, 10 + keyId.length)
  return h
}

/** Seals `value` (JSON-safe) under the keyring's sealing key; returns the token (base64url). */
export async function sealSession(value: unknown, expiresAt: number, keyring: SessionKeyring, platform: Platform): Promise<string> {
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError('sealSession: expiresAt must be ms since the epoch')
  const { id, key } = keyring.sealKey
  const h = header(id, expiresAt, platform.crypto.randomBytes(USE_ONCE_ID_BYTES))
  const iv = platform.crypto.randomBytes(IV_BYTES)
  const ct = await platform.crypto.aesGcmEncrypt(key, iv, h, utf8Encoder.encode(JSON.stringify(value)))
  const out = new Uint8Array(h.length + IV_BYTES + ct.length)
  out.set(h)
  out.set(iv, h.length)
  out.set(ct, h.length + IV_BYTES)
  const token = platform.encodeBase64Url?.(out) ?? toBase64Url(out)
  if (token.length > MAX_SEALED_TOKEN_CHARS) throw new RangeError('sealSession: the sealed state is too large')
  return token
}

const unknown = () => new AttestationError('ERR_SESSION_UNKNOWN', UNKNOWN_SESSION)

/**
 * Opens a token: a malformed token, an unknown key id or a tag that does not verify is "unknown
 * session ID" (ERR_SESSION_UNKNOWN); a retired key is ERR_SESSION_KEY_RETIRED; a token past its
 * expiry (at `now`, when given) is ERR_SESSION_EXPIRED. Never anything else for any input string.
 */
export async function openSession<T>(token: string, keyring: SessionKeyring, platform: Platform, now?: number): Promise<OpenedSession<T>> {
  if (typeof token !== 'string' || token.length < MIN_SEALED_TOKEN_CHARS || token.length > MAX_SEALED_TOKEN_CHARS) throw unknown()
  // the platform's native decoder when it has one: it gives bytes for a canonical base64url
  // encoding only, which has the shape isWellFormedSealedToken checks, so the shape's regular
  // expression (~5 µs on a sealed token) runs only for what it refuses, before core's decoder
  let bytes = platform.decodeBase64Url?.(token)
  if (bytes === undefined) {
    if (!TOKEN.test(token)) throw unknown()
    try {
      bytes = fromBase64Url(token)
    } catch {
      throw unknown()
    }
  }
  if (bytes.length < 2 || bytes[0] !== SEALED_VERSION) throw unknown()
  const idLength = bytes[1]!
  const headerLength = 2 + idLength + 8 + USE_ONCE_ID_BYTES
  if (idLength === 0 || bytes.length < headerLength + IV_BYTES + TAG_BYTES) throw unknown()
  const keyId = String.fromCharCode(...bytes.subarray(2, 2 + idLength))
  const entry = keyring.keys.get(keyId)
  if (entry === undefined) throw unknown()
  const h = bytes.subarray(0, headerLength)
  const iv = bytes.subarray(headerLength, headerLength + IV_BYTES)
  const plain = await platform.crypto.aesGcmDecrypt(entry.key, iv, h, bytes.subarray(headerLength + IV_BYTES))
  if (plain === undefined) throw unknown()
  if (entry.retired) throw new AttestationError('ERR_SESSION_KEY_RETIRED', SESSION_KEY_RETIRED, { detail: { keyId } })
  const view = new DataView(h.buffer, h.byteOffset, h.byteLength)
  const expiresAt = view.getUint32(2 + idLength) * 2 ** 32 + view.getUint32(6 + idLength)
  if (now !== undefined && now > expiresAt)
    throw new AttestationError('ERR_SESSION_EXPIRED', SESSION_EXPIRED, { detail: { expiredAt: new Date(expiresAt).toISOString() } })
  let value: T
  try {
    value = JSON.parse(utf8Decoder.decode(plain)) as T
  } catch {
    throw unknown() // authenticated yet undecodable: only a server bug could seal this
  }
  return { value, expiresAt, useOnceId: toBase64Url(h.subarray(10 + idLength)), keyId }
}
