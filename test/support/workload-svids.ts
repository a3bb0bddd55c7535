/**
 * Workload API messages made of real certificates (test/support/spiffe-ca.ts TestCa): an
 * X509SVID for an ID, concatenated DER bundles, encoded responses.
 */
import { encodeJwtBundlesResponse } from '../../core/workload/jwt-svid.ts'
import { type X509SvidMessage, encodeX509BundlesResponse, encodeX509SvidResponse } from '../../core/workload/x509-svid.ts'
import { type SvidSpec, type TestCa, type TestKey, testKey } from './spiffe-ca.ts'

export function concatDer(ders: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(ders.flatMap((d) => [...d]))
}

export function pkcs8(key: TestKey): Uint8Array {
  return new Uint8Array(key.privateKey.export({ type: 'pkcs8', format: 'der' }))
}

export interface SvidMessageOptions extends SvidSpec {
  readonly hint?: string
  /** the bundle's certificates (default: the CA itself, which must then be a root) */
  readonly bundle?: readonly Uint8Array[]
  /** the key index of testKey('p256', n) for the leaf (default 2) */
  readonly keyIndex?: number
}

/** An X509SVID message for `id` issued by `ca`: leaf and intermediates, the leaf key, the bundle. */
export function svidMessage(ca: TestCa, id: string, options: SvidMessageOptions = {}): X509SvidMessage {
  const key = options.key ?? testKey('p256', options.keyIndex ?? 2)
  const { chain } = ca.issue(id, { ...options, key })
  if (options.bundle === undefined && ca.chainToRoot.length > 0) throw new Error('svidMessage: pass the bundle of an intermediate CA')
  return {
    spiffeId: id,
    x509Svid: concatDer(chain),
    x509SvidKey: pkcs8(key),
    bundle: concatDer(options.bundle ?? [ca.cert.der]),
    hint: options.hint ?? '',
  }
}

export function x509Response(svids: X509SvidMessage[], federated: Record<string, readonly Uint8Array[]> = {}): Uint8Array {
  return encodeX509SvidResponse({
    svids,
    crl: [],
    federatedBundles: new Map(Object.entries(federated).map(([k, v]) => [k, concatDer(v)])),
  })
}

export function x509BundlesResponse(bundles: Record<string, readonly Uint8Array[]>): Uint8Array {
  return encodeX509BundlesResponse({ crl: [], bundles: new Map(Object.entries(bundles).map(([k, v]) => [k, concatDer(v)])) })
}

export function jwtBundlesResponse(bundles: Record<string, string>): Uint8Array {
  return encodeJwtBundlesResponse({ bundles: new Map(Object.entries(bundles).map(([k, v]) => [k, new TextEncoder().encode(v)])) })
}
