import type { CryptoProvider } from './crypto/provider.ts'
import { createWebCryptoProvider } from './crypto/webcrypto.ts'
import { jsKernels } from './kernels/js.ts'
import type { Kernels } from './kernels/types.ts'
import type { ParsedBytesCache, VerifiedSignatureCache } from './platform-caches.ts'

/**
 * Everything core/ needs from its host, injected: crypto (and with it randomness), the clock and
 * the hot-loop kernels. Tests inject a fixed clock and a seeded RNG so vectors are deterministic;
 * runtimes/ inject faster providers. The default is the web platform itself.
 */
export interface Platform {
  readonly crypto: CryptoProvider
  /** milliseconds since the Unix epoch */
  now(): number
  readonly kernels: Kernels
  /**
   * optional: issuer -> certificate signatures already verified (core/x509/verified-cache.ts),
   * used by every chain verification on this platform (DevID and EK CAs, SVID intermediates)
   */
  readonly verifiedSignatures?: VerifiedSignatureCache
  /**
   * optional: parsed certificates by DER (core/x509/certificate-cache.ts), used for every
   * certificate an agent sends (DevID and EK certificates, their CAs) and for SVID chains
   */
  readonly certificates?: ParsedBytesCache
  /** optional: parsed TPM keys by TPMT_PUBLIC bytes (core/attestation/tpm-key-cache.ts), for AK, DevID and EK publics */
  readonly tpmKeys?: ParsedBytesCache
  /** optional: parsed, replayed event logs by their bytes (core/attestation/event-log-cache.ts), for boot quotes */
  readonly eventLogs?: ParsedBytesCache
  /**
   * optional fast path for standard padded base64 (RFC 4648 §4): the bytes when `text` is a
   * canonical encoding, else undefined (core's strict decoder then names the fault). Must return
   * a plain Uint8Array (a view into a larger buffer is fine). runtimes/node supplies one built on
   * Node's Buffer class.
   */
  decodeBase64?(text: string): Uint8Array | undefined
  /** optional fast path for standard padded base64 of `bytes`, equal to core's toBase64 (runtimes/node: Buffer) */
  encodeBase64?(bytes: Uint8Array): string
  /**
   * optional fast path for unpadded base64url (RFC 4648 §5, the sealed session tokens): the bytes
   * when `text` is its canonical encoding, else undefined (core's strict decoder then decides), as
   * decodeBase64 for base64
   */
  decodeBase64Url?(text: string): Uint8Array | undefined
  /** optional fast path for unpadded base64url of `bytes`, equal to core's toBase64Url (runtimes/node: Buffer) */
  encodeBase64Url?(bytes: Uint8Array): string
}

let cached: Platform | undefined

/**
 * Web Crypto (small SHA digests and HMACs through the JS kernels, saving an await each), Date.now
 * and the JS kernels: what every runtime and edge function has.
 */
export function defaultPlatform(): Platform {
  if (!cached) {
    if (!globalThis.crypto?.subtle) {
      throw new TypeError('vouch needs Web Crypto (globalThis.crypto.subtle); pass options.platform')
    }
    cached = Object.freeze({
      crypto: createWebCryptoProvider(globalThis.crypto, { kernels: jsKernels }),
      now: () => Date.now(),
      kernels: jsKernels,
    })
  }
  return cached
}

/** A platform with some parts replaced, e.g. `withPlatform({ now: () => fixed })`. */
export function withPlatform(overrides: Partial<Platform>, base: Platform = defaultPlatform()): Platform {
  return Object.freeze({ ...base, ...overrides })
}
