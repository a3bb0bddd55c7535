/**
 * Validation of the AgentAttestation policy document from a plain JS value (YAML or JSON parsing
 * happens outside core). Every problem is collected with its path, so `vouch policy check` can
 * print them all; unknown keys and wrong types are problems too. The seed's messages are used
 * verbatim where it names one (messages.ts).
 */
import {
  ATTRIBUTE_KEYS,
  DEFAULT_SPIFFE_ID_TEMPLATES,
  isAttestorType,
  ATTESTOR_TYPES,
  type AttestorType,
  bootAttributeKeys,
} from './attribute-keys.ts'
import { checkSpiffeIdTemplate } from './spiffe-id-template.ts'
import { parsePemCertificates } from '../bytes/pem.ts'
import { bytesEqual } from '../bytes/equal.ts'
import { EK_TOLERANCES } from '../der/tolerance.ts'
import { DEVID_PROFILE_TOLERANCES } from '../devid/certificate.ts'
import { EK_PROFILE_TOLERANCES } from '../ek/certificate.ts'
import { PolicyError, VerifyError } from '../errors.ts'
import { parseCertificate, type Certificate } from '../x509/certificate.ts'
import { badEkHash, DEVID_CA_NO_PEM, DEVID_CA_REQUIRED, EK_CA_NO_PEM, EK_TRUST_REQUIRED } from '../messages.ts'
import type { AttestationPolicy, AttestorConfig, BootPolicy, PolicyIssue, PolicySet, ProfileTolerance } from './types.ts'
import { validateBootPolicy } from './validate-boot.ts'

export interface PolicyValidation {
  /** present when there are no issues */
  readonly policySet?: PolicySet
  readonly issues: readonly PolicyIssue[]
}

/** Upper bounds that keep a hostile document from costing much. */
export const POLICY_LIMITS = { policies: 256, attestorsPerPolicy: 8, pemBytes: 256 * 1024, certificates: 64, ekHashes: 100_000 } as const

type Obj = Record<string, unknown>

class Collector {
  readonly issues: PolicyIssue[] = []
  add(path: string, message: string): void {
    this.issues.push({ path, message })
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`
}

function checkKeys(c: Collector, path: string, obj: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) c.add(join(path, k), `unknown key "${k}"; expected one of ${allowed.join(', ')}`)
  }
}

function expectObject(c: Collector, path: string, v: unknown): Obj | undefined {
  if (isObj(v)) return v
  c.add(path, `expected an object, found ${typeName(v)}`)
  return undefined
}

function expectString(c: Collector, path: string, v: unknown): string | undefined {
  if (typeof v === 'string') return v
  c.add(path, `expected a string, found ${typeName(v)}`)
  return undefined
}

/** The certificates of a PEM bundle; undefined (and an issue) when none parse. */
function parseBundle(c: Collector, path: string, text: string, noneMessage: string, ek: boolean): Certificate[] | undefined {
  if (text.length > POLICY_LIMITS.pemBytes) {
    c.add(path, `PEM text of ${text.length} characters exceeds the maximum of ${POLICY_LIMITS.pemBytes}`)
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
  ders.slice(0, POLICY_LIMITS.certificates).forEach((der, i) => {
    try {
      certs.push(parseCertificate(der, ek ? { tolerate: EK_TOLERANCES } : {}))
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      failures.push(`certificate ${i} does not parse: ${e.message}`)
    }
  })
  if (ders.length > POLICY_LIMITS.certificates)
    c.add(path, `${ders.length} certificates exceed the maximum of ${POLICY_LIMITS.certificates}`)
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

function validateEkTrust(
  c: Collector,
  path: string,
  cfg: Obj,
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
    const p = join(path, 'endorsementCACerts')
    const text = expectString(c, p, ca)
    if (text !== undefined) {
      const certs = parseBundle(c, p, text, EK_CA_NO_PEM, true)
      if (certs) {
        const { anchors, intermediates } = splitAnchors(certs)
        out.endorsementAnchors = anchors
        out.endorsementIntermediates = intermediates
      }
    }
  }
  if (hashes !== undefined) {
    const p = join(path, 'allowedEKHashes')
    if (!Array.isArray(hashes)) c.add(p, `expected an array of strings, found ${typeName(hashes)}`)
    else if (hashes.length > POLICY_LIMITS.ekHashes) c.add(p, `${hashes.length} hashes exceed the maximum of ${POLICY_LIMITS.ekHashes}`)
    else {
      const list: string[] = []
      hashes.forEach((h, i) => {
        if (typeof h === 'string' && HEX64.test(h)) list.push(h.toLowerCase())
        else c.add(join(p, i), badEkHash(i))
      })
      out.allowedEKHashes = list
    }
  }
  return out
}

const DEVID_KEYS = ['devIDCACerts', 'endorsementCACerts', 'allowedEKHashes', 'tolerate', 'boot'] as const
const EK_KEYS = ['endorsementCACerts', 'allowedEKHashes', 'tolerate', 'boot'] as const

/** The profile tolerances an attestor type can turn on: the EK's for both, the DevID leaf's for tpm_devid. */
export const PROFILE_TOLERANCES_BY_TYPE: Readonly<Record<AttestorType, readonly ProfileTolerance[]>> = Object.freeze({
  tpm_devid: [...EK_PROFILE_TOLERANCES, ...DEVID_PROFILE_TOLERANCES],
  tpm_ek: [...EK_PROFILE_TOLERANCES],
})

/** `config.tolerate`: an array of distinct tolerance names that apply to the attestor type. */
function validateTolerances(c: Collector, path: string, v: unknown, type: AttestorType): ProfileTolerance[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v)) {
    c.add(path, `expected an array of tolerance names, found ${typeName(v)}`)
    return undefined
  }
  const known = PROFILE_TOLERANCES_BY_TYPE[type]
  const out: ProfileTolerance[] = []
  v.forEach((t, i) => {
    const p = join(path, i)
    if (typeof t !== 'string') c.add(p, `expected a tolerance name, found ${typeName(t)}`)
    else if (!(known as readonly string[]).includes(t)) {
      const other = type === 'tpm_ek' && (DEVID_PROFILE_TOLERANCES as readonly string[]).includes(t)
      c.add(
        p,
        other
          ? `tolerance ${JSON.stringify(t)} applies to tpm_devid only (the DevID certificate)`
          : `unknown tolerance ${JSON.stringify(t)}; expected one of ${known.join(', ')}`,
      )
    } else if (out.includes(t as ProfileTolerance)) c.add(p, `tolerance ${JSON.stringify(t)} is listed twice`)
    else out.push(t as ProfileTolerance)
  })
  return out
}

function bootOf(c: Collector, cp: string, cfg: Obj): BootPolicy | undefined {
  return cfg.boot === undefined ? undefined : validateBootPolicy((p, m) => c.add(p, m), join(cp, 'boot'), cfg.boot)
}

function validateAttestor(c: Collector, path: string, v: unknown): AttestorConfig | undefined {
  const a = expectObject(c, path, v)
  if (!a) return undefined
  checkKeys(c, path, a, ['type', 'config'])
  const type = a.type
  if (type === undefined) {
    c.add(join(path, 'type'), 'type is required')
    return undefined
  }
  if (!isAttestorType(type)) {
    c.add(join(path, 'type'), `unknown attestor type ${JSON.stringify(type)}; expected one of ${ATTESTOR_TYPES.join(', ')}`)
    return undefined
  }
  const cp = join(path, 'config')
  if (a.config === undefined || a.config === null) {
    c.add(cp, type === 'tpm_devid' ? DEVID_CA_REQUIRED : EK_TRUST_REQUIRED)
    return undefined
  }
  const cfg = expectObject(c, cp, a.config)
  if (!cfg) return undefined
  const before = c.issues.length
  if (type === 'tpm_devid') {
    checkKeys(c, cp, cfg, DEVID_KEYS)
    let devid: { anchors: Certificate[]; intermediates: Certificate[] } | undefined
    if (cfg.devIDCACerts === undefined) c.add(cp, DEVID_CA_REQUIRED)
    else {
      const p = join(cp, 'devIDCACerts')
      const text = expectString(c, p, cfg.devIDCACerts)
      const certs = text === undefined ? undefined : parseBundle(c, p, text, DEVID_CA_NO_PEM, false)
      if (certs) devid = splitAnchors(certs)
    }
    const ek = validateEkTrust(c, cp, cfg)
    const tolerate = validateTolerances(c, join(cp, 'tolerate'), cfg.tolerate, type)
    const boot = bootOf(c, cp, cfg)
    if (c.issues.length > before || !devid) return undefined
    return {
      type,
      devIDAnchors: devid.anchors,
      devIDIntermediates: devid.intermediates,
      ...ek,
      ...(tolerate ? { tolerate } : {}),
      ...(boot ? { boot } : {}),
    }
  }
  checkKeys(c, cp, cfg, EK_KEYS)
  const ek = validateEkTrust(c, cp, cfg)
  const tolerate = validateTolerances(c, join(cp, 'tolerate'), cfg.tolerate, type)
  const boot = bootOf(c, cp, cfg)
  if (c.issues.length > before) return undefined
  return { type, ...ek, ...(tolerate ? { tolerate } : {}), ...(boot ? { boot } : {}) }
}

function validatePolicy(c: Collector, path: string, v: unknown, names: Set<string>): AttestationPolicy | undefined {
  const p = expectObject(c, path, v)
  if (!p) return undefined
  checkKeys(c, path, p, ['name', 'requiredAttestors', 'spiffeIDTemplate'])
  const before = c.issues.length
  let name: string | undefined
  if (p.name === undefined) c.add(join(path, 'name'), 'name is required')
  else {
    name = expectString(c, join(path, 'name'), p.name)
    if (name !== undefined) {
      if (name.trim() === '') c.add(join(path, 'name'), 'name must not be empty')
      else if (names.has(name)) c.add(join(path, 'name'), `duplicate policy name ${JSON.stringify(name)}`)
      names.add(name)
    }
  }
  const ap = join(path, 'requiredAttestors')
  const attestors: AttestorConfig[] = []
  const types: AttestorType[] = []
  if (p.requiredAttestors === undefined) c.add(ap, 'requiredAttestors is required')
  else if (!Array.isArray(p.requiredAttestors)) c.add(ap, `expected an array, found ${typeName(p.requiredAttestors)}`)
  else if (p.requiredAttestors.length === 0) c.add(ap, 'requiredAttestors must list at least one attestor')
  else if (p.requiredAttestors.length > POLICY_LIMITS.attestorsPerPolicy) {
    c.add(ap, `${p.requiredAttestors.length} attestors exceed the maximum of ${POLICY_LIMITS.attestorsPerPolicy}`)
  } else {
    p.requiredAttestors.forEach((a, i) => {
      const t = isObj(a) && isAttestorType(a.type) ? a.type : undefined
      if (t && types.includes(t)) c.add(join(join(ap, i), 'type'), `attestor type ${t} is listed twice in one policy`)
      if (t) types.push(t)
      const cfg = validateAttestor(c, join(ap, i), a)
      if (cfg) attestors.push(cfg)
    })
  }
  let template: string | undefined
  if (p.spiffeIDTemplate !== undefined) {
    const tp = join(path, 'spiffeIDTemplate')
    template = expectString(c, tp, p.spiffeIDTemplate)
    if (template !== undefined && types.length > 0) {
      const allowed = [
        ...types.flatMap((t) => ATTRIBUTE_KEYS[t]),
        ...attestors.filter((a) => a.boot).flatMap((a) => bootAttributeKeys(a.type)),
      ]
      for (const problem of checkSpiffeIdTemplate(template, allowed)) c.add(tp, problem)
    }
  }
  if (c.issues.length > before || name === undefined) return undefined
  return { name, requiredAttestors: attestors, spiffeIDTemplate: template ?? DEFAULT_SPIFFE_ID_TEMPLATES[types[0]!] }
}

/** Validates a policy document; collects every issue. Never throws for bad input. */
export function validatePolicyDocument(doc: unknown): PolicyValidation {
  const c = new Collector()
  const root = expectObject(c, '', doc)
  if (!root) return { issues: c.issues.map((i) => (i.path === '' ? { path: '$', message: i.message } : i)) }
  checkKeys(c, '', root, ['section', 'schema', 'spec'])
  if (root.section !== 'AgentAttestation') {
    c.add('section', `expected "AgentAttestation", found ${root.section === undefined ? 'nothing' : JSON.stringify(root.section)}`)
  }
  if (root.schema !== 'v1') c.add('schema', `expected "v1", found ${root.schema === undefined ? 'nothing' : JSON.stringify(root.schema)}`)
  const policies: AttestationPolicy[] = []
  const spec = root.spec === undefined ? (c.add('spec', 'spec is required'), undefined) : expectObject(c, 'spec', root.spec)
  if (spec) {
    checkKeys(c, 'spec', spec, ['policies'])
    const pl = spec.policies
    if (pl === undefined) c.add('spec.policies', 'policies is required')
    else if (!Array.isArray(pl)) c.add('spec.policies', `expected an array, found ${typeName(pl)}`)
    else if (pl.length === 0) c.add('spec.policies', 'policies must list at least one policy')
    else if (pl.length > POLICY_LIMITS.policies)
      c.add('spec.policies', `${pl.length} policies exceed the maximum of ${POLICY_LIMITS.policies}`)
    else {
      const names = new Set<string>()
      pl.forEach((p, i) => {
        const policy = validatePolicy(c, join('spec.policies', i), p, names)
        if (policy) policies.push(policy)
      })
    }
  }
  if (c.issues.length > 0) return { issues: c.issues }
  return { policySet: { policies }, issues: [] }
}

/**
 * The policy set of a document, or PolicyError ERR_POLICY_INVALID whose message is the first
 * issue's (a seed message where the seed names one) and whose detail has its path and the count.
 */
export function parsePolicyDocument(doc: unknown): PolicySet {
  const v = validatePolicyDocument(doc)
  if (v.policySet) return v.policySet
  const first = v.issues[0]!
  throw new PolicyError('ERR_POLICY_INVALID', first.message, { detail: { path: first.path, issues: v.issues.length } })
}
