/**
 * An attestor's `config` block in the policy document: the shape every attestor config shares and
 * the parsing helpers attestors build theirs from (PEM trust bundles, EK trust). The policy layer
 * (core/policy/validate.ts) checks the keys, `tolerate` and `boot` generically and hands the rest
 * to the attestor's `parseConfig`; problems are reported with their path, never thrown.
 */
import { bytesEqual } from '../bytes/equal.ts'
import { parsePemCertificates } from '../bytes/pem.ts'
import { EK_TOLERANCES } from '../der/tolerance.ts'
import type { DevIdProfileTolerance } from '../devid/certificate.ts'
import type { EkProfileTolerance } from '../ek/certificate.ts'
import { VerifyError } from '../errors.ts'
import { badEkHash, EK_CA_NO_PEM, EK_TRUST_REQUIRED } from '../messages.ts'
import { parseCertificate, type Certificate } from '../x509/certificate.ts'
import type { BootPolicy } from './boot-policy.ts'

/**
 * A named relaxation of a certificate profile (core/ek/certificate.ts, core/devid/certificate.ts).
 * Off unless the attestor's `tolerate` lists it; every one used is reported in the verdict.
 */
export type ProfileTolerance = EkProfileTolerance | DevIdProfileTolerance

/** What every parsed attestor config has: its type, the tolerances it turned on, its boot policy. */
export interface AttestorConfig {
  readonly type: string
  /** profile tolerances this attestor accepts (`config.tolerate`); default none */
  readonly tolerate?: readonly ProfileTolerance[]
  /** measured boot: a quote and the event log are demanded when set (core/attestation/boot.ts) */
  readonly boot?: BootPolicy
}

/** EK trust: by manufacturer CA, by public-key hash, or either when both are set. */
export interface EkTrustConfig extends Omit<AttestorConfig, 'type'> {
  /** anchors: the self-issued certificates of endorsementCACerts (all of them when none is self-issued) */
  readonly endorsementAnchors?: readonly Certificate[]
  /** the other certificates of endorsementCACerts, offered as intermediates */
  readonly endorsementIntermediates?: readonly Certificate[]
  /** lowercase hex SHA-256 of the EK SubjectPublicKeyInfo DER */
  readonly allowedEKHashes?: readonly string[]
}

/** A family of profile tolerances an attestor can turn on, and what they relax (named in messages). */
export interface ToleranceGroup {
  /** e.g. "the DevID certificate" */
  readonly of: string
  readonly names: readonly ProfileTolerance[]
}

/** Where a config parser reports its problems (the policy document's collector). */
export interface ConfigContext {
  add(path: string, message: string): void
}

/** Upper bounds of an attestor config that keep a hostile document from costing much. */
export const CONFIG_LIMITS = { pemBytes: 256 * 1024, certificates: 64, ekHashes: 100_000 } as const

export type ConfigObject = Record<string, unknown>

export function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

export function isConfigObject(v: unknown): v is ConfigObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `a.b`, `a[3]`: a path into the policy document. */
export function joinPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`
}

export function expectString(c: ConfigContext, path: string, v: unknown): string | undefined {
  if (typeof v === 'string') return v
  c.add(path, `expected a string, found ${typeName(v)}`)
  return undefined
}

/** The certificates of a PEM bundle; undefined (and an issue) when none parse. `ek`: the EK DER tolerances apply. */
export function parseCertificateBundle(
  c: ConfigContext,
  path: string,
  text: string,
  noneMessage: string,
  ek: boolean,
): Certificate[] | undefined {
  if (text.length > CONFIG_LIMITS.pemBytes) {
    c.add(path, `PEM text of ${text.length} characters exceeds the maximum of ${CONFIG_LIMITS.pemBytes}`)
    return undefined
  }
  let ders: Uint8Array[]
  try {
    ders = parsePemCertificates(text, path)
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e
    ders = []
  }
  const certs: Certificate[] = []
  const failures: string[] = []
  ders.slice(0, CONFIG_LIMITS.certificates).forEach((der, i) => {
    try {
      certs.push(parseCertificate(der, ek ? { tolerate: EK_TOLERANCES } : {}))
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      failures.push(`certificate ${i} does not parse: ${e.message}`)
    }
  })
  if (ders.length > CONFIG_LIMITS.certificates)
    c.add(path, `${ders.length} certificates exceed the maximum of ${CONFIG_LIMITS.certificates}`)
  if (certs.length === 0) {
    c.add(path, noneMessage)
    return undefined
  }
  const key = path.slice(path.lastIndexOf('.') + 1)
  for (const f of failures) c.add(path, `${key}: ${f}`)
  return certs
}

/** Self-issued certificates are anchors, the rest intermediates; with no self-issued one, all are anchors (SPIRE's pool semantics). */
export function splitAnchors(certs: readonly Certificate[]): { anchors: Certificate[]; intermediates: Certificate[] } {
  const selfIssued = certs.filter((x) => bytesEqual(x.subjectRaw, x.issuerRaw))
  if (selfIssued.length === 0) return { anchors: [...certs], intermediates: [] }
  return { anchors: selfIssued, intermediates: certs.filter((x) => !selfIssued.includes(x)) }
}

const HEX64 = /^[0-9a-fA-F]{64}$/

/** The EK trust keys of a config (`endorsementCACerts`, `allowedEKHashes`): at least one is required. */
export function parseEkTrustConfig(
  c: ConfigContext,
  path: string,
  cfg: ConfigObject,
): {
  endorsementAnchors?: Certificate[]
  endorsementIntermediates?: Certificate[]
  allowedEKHashes?: string[]
} {
  const out: { endorsementAnchors?: Certificate[]; endorsementIntermediates?: Certificate[]; allowedEKHashes?: string[] } = {}
  const ca = cfg.endorsementCACerts
  const hashes = cfg.allowedEKHashes
  if (ca === undefined && hashes === undefined) c.add(path, EK_TRUST_REQUIRED)
  if (ca !== undefined) {
    const p = joinPath(path, 'endorsementCACerts')
    const text = expectString(c, p, ca)
    if (text !== undefined) {
      const certs = parseCertificateBundle(c, p, text, EK_CA_NO_PEM, true)
      if (certs) {
        const { anchors, intermediates } = splitAnchors(certs)
        out.endorsementAnchors = anchors
        out.endorsementIntermediates = intermediates
      }
    }
  }
  if (hashes !== undefined) {
    const p = joinPath(path, 'allowedEKHashes')
    if (!Array.isArray(hashes)) c.add(p, `expected an array of strings, found ${typeName(hashes)}`)
    else if (hashes.length > CONFIG_LIMITS.ekHashes) c.add(p, `${hashes.length} hashes exceed the maximum of ${CONFIG_LIMITS.ekHashes}`)
    else {
      const list: string[] = []
      hashes.forEach((h, i) => {
        if (typeof h === 'string' && HEX64.test(h)) list.push(h.toLowerCase())
        else c.add(joinPath(p, i), badEkHash(i))
      })
      out.allowedEKHashes = list
    }
  }
  return out
}

/** The config keys of EK trust, in the order messages list them. */
export const EK_TRUST_KEYS = ['endorsementCACerts', 'allowedEKHashes'] as const
