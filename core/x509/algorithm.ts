/**
 * Certificate signature algorithms (RFC 3279 §2.2, RFC 4055 §3, RFC 5758 §3.2) to a
 * {@link SignatureScheme} for the crypto port.
 */
import type { HashAlg, SignatureScheme } from '../crypto/provider.ts'
import { DerReader, TAG, contextTag, type DerElement } from '../der/reader.ts'
import { oidOf, OID } from '../der/oid.ts'
import { decodeNull, decodeSmallInteger } from '../der/values.ts'
import { tolerates, type ToleranceOptions } from '../der/tolerance.ts'
import { X509Error } from '../errors.ts'

export interface SignatureAlgorithm {
  /** dotted OID of the AlgorithmIdentifier */
  readonly oid: string
  readonly scheme: SignatureScheme
}

const RSA_PKCS1: Record<string, HashAlg> = {
  [OID.sha1WithRSAEncryption]: 'SHA-1',
  [OID.sha256WithRSAEncryption]: 'SHA-256',
  [OID.sha384WithRSAEncryption]: 'SHA-384',
  [OID.sha512WithRSAEncryption]: 'SHA-512',
}
const ECDSA: Record<string, HashAlg> = {
  [OID.ecdsaWithSHA1]: 'SHA-1',
  [OID.ecdsaWithSHA256]: 'SHA-256',
  [OID.ecdsaWithSHA384]: 'SHA-384',
  [OID.ecdsaWithSHA512]: 'SHA-512',
}
const HASHES: Record<string, HashAlg> = {
  [OID.sha1]: 'SHA-1',
  [OID.sha256]: 'SHA-256',
  [OID.sha384]: 'SHA-384',
  [OID.sha512]: 'SHA-512',
}

function unsupported(message: string): never {
  throw new X509Error('ERR_X509_UNSUPPORTED_ALGORITHM', message)
}

function malformed(message: string): never {
  throw new X509Error('ERR_X509_MALFORMED', message)
}

/** A hash AlgorithmIdentifier (parameters absent or NULL, RFC 4055 §2.1). */
function parseHashAlgorithm(el: DerElement, what: string): HashAlg {
  const r = DerReader.sequence(el, what)
  const oidEl = r.expect(TAG.OID, 'algorithm')
  if (!r.done) decodeNull(r.next('parameters'), `${what} parameters`)
  r.finish()
  const oid = oidOf(oidEl)
  const h = HASHES[oid]
  if (!h) unsupported(`${what} ${oid} is not supported`)
  return h
}

/** RSASSA-PSS-params (RFC 4055 §3.1): defaults SHA-1, MGF1-SHA-1, salt 20, trailer 1. */
function parsePssParams(r: DerReader): SignatureScheme {
  const paramsEl = r.expect(TAG.SEQUENCE, 'RSASSA-PSS-params')
  const pr = DerReader.of(paramsEl, 'RSASSA-PSS-params')
  let hash: HashAlg = 'SHA-1'
  let mgfHash: HashAlg = 'SHA-1'
  let saltLength = 20
  const h = pr.optional(contextTag(0, true), 'hashAlgorithm')
  if (h) hash = parseHashAlgorithm(DerReader.of(h, 'hashAlgorithm').next('hashAlgorithm'), 'hashAlgorithm')
  const m = pr.optional(contextTag(1, true), 'maskGenAlgorithm')
  if (m) {
    const mr = DerReader.sequence(DerReader.of(m, 'maskGenAlgorithm').next('maskGenAlgorithm'), 'maskGenAlgorithm')
    const mOid = mr.expect(TAG.OID, 'algorithm')
    if (oidOf(mOid) !== OID.mgf1) unsupported('RSASSA-PSS mask generation is not MGF1')
    mgfHash = parseHashAlgorithm(mr.next('MGF1 hash'), 'MGF1 hash')
    mr.finish()
  }
  const s = pr.optional(contextTag(2, true), 'saltLength')
  if (s) saltLength = decodeSmallInteger(DerReader.of(s, 'saltLength').next('saltLength'), 'saltLength')
  const t = pr.optional(contextTag(3, true), 'trailerField')
  if (t && decodeSmallInteger(DerReader.of(t, 'trailerField').next('trailerField'), 'trailerField') !== 1) {
    unsupported('RSASSA-PSS trailerField is not 1')
  }
  pr.finish()
  if (mgfHash !== hash) unsupported(`RSASSA-PSS MGF1 hash ${mgfHash} differs from the message hash ${hash}`)
  return { name: 'RSA-PSS', hash, saltLength }
}

/**
 * Parses a signature AlgorithmIdentifier. RSA PKCS#1 v1.5 takes NULL (or absent) parameters;
 * ECDSA takes none — NULL only with the tolerance `ecdsa-null-parameters`.
 */
export function parseSignatureAlgorithm(el: DerElement, what: string, options?: ToleranceOptions): SignatureAlgorithm {
  const r = DerReader.sequence(el, what)
  const oidEl = r.expect(TAG.OID, 'algorithm')
  const oid = oidOf(oidEl)
  const rsa = RSA_PKCS1[oid]
  if (rsa) {
    if (!r.done) decodeNull(r.next('parameters'), `${what} parameters`)
    r.finish()
    return { oid, scheme: { name: 'RSASSA-PKCS1-v1_5', hash: rsa } }
  }
  const ec = ECDSA[oid]
  if (ec) {
    if (!r.done) {
      if (r.peekTag() === TAG.NULL && tolerates(options, 'ecdsa-null-parameters')) decodeNull(r.next('parameters'), what)
      else malformed(`${what}: ecdsa-with-${ec} must have absent parameters (RFC 5758 §3.2)`)
    }
    r.finish()
    return { oid, scheme: { name: 'ECDSA', hash: ec } }
  }
  if (oid === OID.rsassaPss) {
    const scheme = parsePssParams(r)
    r.finish()
    return { oid, scheme }
  }
  unsupported(`${what} ${oid} is not supported`)
}
