/**
 * The caches a long-running verifier (a server) puts on its platform: verified CA signatures,
 * parsed certificates, parsed TPM keys and event logs (parsed, replayed and read for boot state,
 * by their bytes and by their base64 text). Together they remove the parsing and the CA signature
 * checks that a re-attesting agent would otherwise repeat; every leaf signature, TPM check, quote
 * and MakeCredential still runs each time. All bounded (docs/performance.md).
 */
import type { Platform } from '../platform.ts'
import { type CertificateCache, createCertificateCache } from '../x509/certificate-cache.ts'
import type { VerifiedSignatureCache } from '../x509/path-build.ts'
import { createVerifiedSignatureCache } from '../x509/verified-cache.ts'
import type { ParsedBytesCache } from '../platform-caches.ts'
import { createEventLogCache } from './event-log-cache.ts'
import { createTpmKeyCache, type TpmKeyCache } from '../attestor/tpm-key-cache.ts'

export interface AttestationCacheOptions {
  /** parsed certificates held; default 1024 */
  readonly certificates?: number
  /** parsed TPM keys held; default 1024 */
  readonly tpmKeys?: number
  /** parsed and replayed event logs held (and as many by base64 text); default 64 */
  readonly eventLogs?: number
}

/** What createAttestationCaches returns: the three platform caches, each with its `size`. */
export interface AttestationCaches {
  readonly verifiedSignatures: VerifiedSignatureCache & { readonly size: number }
  readonly certificates: CertificateCache & { readonly size: number }
  readonly tpmKeys: TpmKeyCache & { readonly size: number }
  readonly eventLogs: ParsedBytesCache
}

/** The three caches, for `withPlatform(createAttestationCaches(), base)`; each reports its `size`. */
export function createAttestationCaches(options: AttestationCacheOptions = {}): AttestationCaches {
  return {
    verifiedSignatures: createVerifiedSignatureCache(),
    certificates: createCertificateCache(options.certificates),
    tpmKeys: createTpmKeyCache(options.tpmKeys),
    eventLogs: createEventLogCache(options.eventLogs),
  } satisfies Pick<Platform, 'verifiedSignatures' | 'certificates' | 'tpmKeys' | 'eventLogs'>
}
