/**
 * A bounded cache of parsed certificates keyed by their DER (and the parse options): the
 * certificates an agent sends with every attestation (its DevID and EK certificates, the DevID
 * and EK CAs) and an SVID's chain are parsed once per distinct DER (core/bytes/bytes-cache.ts:
 * full byte compare on every hit, LRU bound, failures not cached). Parsing only: every signature,
 * validity period and path rule is still checked on each use. Entries are shared: treat returned
 * certificates as immutable (core never mutates one).
 */
import { createBytesCache } from '../bytes/bytes-cache.ts'
import type { Platform } from '../platform.ts'
import type { ParsedBytesCache } from '../platform-caches.ts'
import { parseCertificate, type Certificate, type ParseCertificateOptions } from './certificate.ts'

/** A platform's `certificates` slot, with a typed entry point for callers outside a platform. */
export interface CertificateCache extends ParsedBytesCache {
  /** the certificate `der` parses to under `options`: remembered, or parsed now (throws as parseCertificate) */
  parse(der: Uint8Array, options?: ParseCertificateOptions): Certificate
}

// tolerance lists are module constants (EK_TOLERANCES): their joined text is made once
const toleranceText = new WeakMap<readonly string[], string>()
function optionsKey(options: ParseCertificateOptions): string {
  const tolerate = options.tolerate
  let text = ''
  if (tolerate !== undefined) {
    const known = toleranceText.get(tolerate)
    if (known === undefined) toleranceText.set(tolerate, (text = tolerate.join(',')))
    else text = known
  }
  // 'c' keeps certificate entries apart from any other parser's in a shared ParsedBytesCache
  return options.allowTrailingData === true ? `ct${text}` : `c${text}`
}

function parseWith(cache: ParsedBytesCache, der: Uint8Array, options: ParseCertificateOptions): Certificate {
  return cache.get(der, optionsKey(options), (own) => parseCertificate(own, options))
}

export function createCertificateCache(capacity = 1024): CertificateCache {
  const cache = createBytesCache<unknown>(capacity, 'createCertificateCache')
  const slot: CertificateCache = {
    // every value under a tag is what that tag's parser returned (ParsedBytesCache's contract)
    get: <T>(bytes: Uint8Array, tag: string, parse: (own: Uint8Array<ArrayBuffer>) => T): T => cache.get(bytes, tag, parse) as T,
    parse: (der, options = {}) => parseWith(slot, der, options),
    get size() {
      return cache.size
    },
  }
  return slot
}

/** Parses a certificate through the platform's certificate cache when it has one. */
export function parseCertificateCached(der: Uint8Array, options: ParseCertificateOptions, platform: Platform | undefined): Certificate {
  return platform?.certificates ? parseWith(platform.certificates, der, options) : parseCertificate(der, options)
}
