/**
 * A bounded cache of parsed certificates, keyed by their DER bytes (and the parse options): the
 * intermediates an agent sends with every attestation (DevID CAs, EK CAs from NV) are parsed
 * once. A lookup hashes the DER with a fast non-cryptographic hash and then compares the stored
 * DER byte for byte, so a hash collision can never return another certificate. Failures are
 * not cached. Entries are shared: treat returned certificates as immutable (core never mutates one).
 */
import { bytesEqual } from '../bytes/equal.ts'
import type { Platform } from '../platform.ts'
import { parseCertificate, type Certificate, type ParseCertificateOptions } from './certificate.ts'

export interface CertificateCache {
  /** the certificate `der` parses to under `options`: remembered, or parsed now (throws as parseCertificate) */
  parse(der: Uint8Array, options?: ParseCertificateOptions): Certificate
}

/** FNV-1a, 32 bits: a bucket index, not an identity (the DER is compared in full). */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return h >>> 0
}

function optionsKey(options: ParseCertificateOptions): string {
  return `${options.allowTrailingData === true ? 't' : ''}${options.tolerate?.join(',') ?? ''}`
}

export function createCertificateCache(capacity = 1024): CertificateCache & { readonly size: number } {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('createCertificateCache: capacity must be a positive integer')
  const entries = new Map<string, { der: Uint8Array; cert: Certificate }>()
  return {
    parse(der, options = {}) {
      const key = `${fnv1a(der)}.${der.length}.${optionsKey(options)}`
      const hit = entries.get(key)
      if (hit && bytesEqual(hit.der, der)) {
        entries.delete(key)
        entries.set(key, hit)
        return hit.cert
      }
      const cert = parseCertificate(der, options)
      entries.delete(key)
      entries.set(key, { der: der.slice(), cert })
      if (entries.size > capacity) entries.delete(entries.keys().next().value!)
      return cert
    },
    get size() {
      return entries.size
    },
  }
}

/**
 * Parses a certificate that is not the one being attested (an intermediate), through the
 * platform's certificate cache when it has one.
 */
export function parseIntermediateCertificate(der: Uint8Array, options: ParseCertificateOptions, platform: Platform): Certificate {
  return platform.certificates ? platform.certificates.parse(der, options) : parseCertificate(der, options)
}
