/**
 * The cache slots of a Platform (core/platform.ts) as the platform sees them: stores that know
 * nothing of what they hold. The modules that fill them give the values their types and make the
 * caches: x509/verified-cache.ts (verified CA signatures), x509/certificate-cache.ts (parsed
 * certificates) and attestation/tpm-key-cache.ts (parsed TPM keys). Declaring the slots here, in a
 * leaf that imports nothing, keeps platform.ts below x509/ and attestation/ (docs/architecture.md).
 */

/** A store of issuer->certificate signatures already verified (e.g. a Map or an LRU). */
export interface VerifiedSignatureCache {
  get(key: string): unknown
  set(key: string, value: unknown): void
}

/**
 * A bounded cache of values parsed from byte strings, keyed by the bytes and a tag (the parser
 * and its options). `parse` receives a private copy of the bytes; a hit must compare the stored
 * bytes in full, never a hash alone, and failures must not be cached. The value returned is the
 * one `parse` made for equal bytes and tag, so each tag always maps to one parser and one type.
 * core/bytes/bytes-cache.ts is the implementation core makes.
 */
export interface ParsedBytesCache {
  get<T>(bytes: Uint8Array, tag: string, parse: (own: Uint8Array<ArrayBuffer>) => T): T
  /** entries held */
  readonly size: number
}
