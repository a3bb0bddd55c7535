/**
 * Validation of the AgentAttestation policy document from a plain JS value (YAML or JSON parsing
 * happens outside core). Every problem is collected with its path, so `vouch policy check` can
 * print them all; unknown keys and wrong types are problems too. The seed's messages are used
 * verbatim where it names one (messages.ts).
 */
import type { AnyAttestor } from '../attestor/attestor.ts'
import { bootAttributeKeys, validateBootPolicy, type BootPolicy } from '../attestor/boot-policy.ts'
import {
  type AttestorConfig,
  CONFIG_LIMITS,
  type ConfigObject,
  isConfigObject as isObj,
  joinPath as join,
  type ProfileTolerance,
  typeName,
  expectString,
} from '../attestor/config.ts'
import type { AttestorRegistry } from '../attestor/registry.ts'
import { BUILTIN_ATTESTORS } from '../attestors/registry.ts'
import { PolicyError } from '../errors.ts'
import type { AttestorType } from './attribute-keys.ts'
import { checkSpiffeIdTemplate } from './spiffe-id-template.ts'
import type { AttestationPolicy, PolicyIssue, PolicySet } from './types.ts'

export { splitAnchors } from '../attestor/config.ts'

export interface PolicyValidation {
  /** present when there are no issues */
  readonly policySet?: PolicySet
  readonly issues: readonly PolicyIssue[]
}

export interface PolicyValidationOptions {
  /** the attestors a policy may require (default: vouch's own, BUILTIN_ATTESTORS) */
  readonly attestors?: AttestorRegistry
}

/** Upper bounds that keep a hostile document from costing much. */
export const POLICY_LIMITS = { policies: 256, attestorsPerPolicy: 8, ...CONFIG_LIMITS } as const

type Obj = ConfigObject

class Collector {
  readonly issues: PolicyIssue[] = []
  constructor(readonly attestors: AttestorRegistry) {}
  add(path: string, message: string): void {
    this.issues.push({ path, message })
  }
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

const toleranceNames = (a: AnyAttestor): readonly string[] => a.tolerances.flatMap((g) => g.names)

/** The profile tolerances each built-in attestor type can turn on (its folder's `tolerances`). */
export const PROFILE_TOLERANCES_BY_TYPE: Readonly<Record<AttestorType, readonly ProfileTolerance[]>> = Object.freeze(
  Object.fromEntries(BUILTIN_ATTESTORS.attestors.map((a) => [a.type, toleranceNames(a)])) as Record<AttestorType, ProfileTolerance[]>,
)

/**
 * `config.tolerate`: an array of distinct tolerance names that apply to the attestor. A name only
 * other attestors know is named as theirs, with what it relaxes.
 */
function validateTolerances(c: Collector, path: string, v: unknown, attestor: AnyAttestor): ProfileTolerance[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v)) {
    c.add(path, `expected an array of tolerance names, found ${typeName(v)}`)
    return undefined
  }
  const known = toleranceNames(attestor)
  const out: ProfileTolerance[] = []
  v.forEach((t, i) => {
    const p = join(path, i)
    if (typeof t !== 'string') c.add(p, `expected a tolerance name, found ${typeName(t)}`)
    else if (!known.includes(t)) {
      const owners = c.attestors.attestors.filter((a) => toleranceNames(a).includes(t))
      const group = owners[0]?.tolerances.find((g) => (g.names as readonly string[]).includes(t))
      c.add(
        p,
        group
          ? `tolerance ${JSON.stringify(t)} applies to ${owners.map((a) => a.type).join(', ')} only (${group.of})`
          : `unknown tolerance ${JSON.stringify(t)}; expected one of ${known.join(', ')}`,
      )
    } else if (out.includes(t as ProfileTolerance)) c.add(p, `tolerance ${JSON.stringify(t)} is listed twice`)
    else out.push(t as ProfileTolerance)
  })
  return out
}

/**
 * One `requiredAttestors` entry: the type must be registered; its `config` keys are the attestor's
 * own (`configKeys`), `tolerate` when it has tolerances and `boot` when it supports measured boot.
 * The attestor parses its keys, then this layer `tolerate` and `boot`.
 */
function validateAttestor(c: Collector, path: string, v: unknown): AttestorConfig | undefined {
  const a = expectObject(c, path, v)
  if (!a) return undefined
  checkKeys(c, path, a, ['type', 'config'])
  const type = a.type
  if (type === undefined) {
    c.add(join(path, 'type'), 'type is required')
    return undefined
  }
  const attestor = c.attestors.get(typeof type === 'string' ? type : '')
  if (!attestor) {
    c.add(join(path, 'type'), `unknown attestor type ${JSON.stringify(type)}; expected one of ${c.attestors.types.join(', ')}`)
    return undefined
  }
  const cp = join(path, 'config')
  if (a.config === undefined || a.config === null) {
    c.add(cp, attestor.configRequired)
    return undefined
  }
  const cfg = expectObject(c, cp, a.config)
  if (!cfg) return undefined
  const before = c.issues.length
  const tolerates = attestor.tolerances.length > 0
  checkKeys(c, cp, cfg, [...attestor.configKeys, ...(tolerates ? ['tolerate'] : []), ...(attestor.boot ? ['boot'] : [])])
  const body = attestor.parseConfig(c, cp, cfg)
  const tolerate = tolerates ? validateTolerances(c, join(cp, 'tolerate'), cfg.tolerate, attestor) : undefined
  const boot: BootPolicy | undefined =
    attestor.boot && cfg.boot !== undefined ? validateBootPolicy((p, m) => c.add(p, m), join(cp, 'boot'), cfg.boot) : undefined
  if (c.issues.length > before || !body) return undefined
  return { type: attestor.type, ...body, ...(tolerate ? { tolerate } : {}), ...(boot ? { boot } : {}) }
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
  const types: string[] = []
  if (p.requiredAttestors === undefined) c.add(ap, 'requiredAttestors is required')
  else if (!Array.isArray(p.requiredAttestors)) c.add(ap, `expected an array, found ${typeName(p.requiredAttestors)}`)
  else if (p.requiredAttestors.length === 0) c.add(ap, 'requiredAttestors must list at least one attestor')
  else if (p.requiredAttestors.length > POLICY_LIMITS.attestorsPerPolicy) {
    c.add(ap, `${p.requiredAttestors.length} attestors exceed the maximum of ${POLICY_LIMITS.attestorsPerPolicy}`)
  } else {
    p.requiredAttestors.forEach((a, i) => {
      const t = isObj(a) && c.attestors.has(a.type) ? a.type : undefined
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
        ...types.flatMap((t) => c.attestors.get(t)!.attributeKeys),
        ...attestors.filter((a) => a.boot).flatMap((a) => bootAttributeKeys(a.type)),
      ]
      for (const problem of checkSpiffeIdTemplate(template, allowed)) c.add(tp, problem)
    }
  }
  if (c.issues.length > before || name === undefined) return undefined
  return { name, requiredAttestors: attestors, spiffeIDTemplate: template ?? c.attestors.get(types[0]!)!.defaultSpiffeIdTemplate }
}

/** Validates a policy document; collects every issue. Never throws for bad input. */
export function validatePolicyDocument(doc: unknown, options: PolicyValidationOptions = {}): PolicyValidation {
  const c = new Collector(options.attestors ?? BUILTIN_ATTESTORS)
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
export function parsePolicyDocument(doc: unknown, options: PolicyValidationOptions = {}): PolicySet {
  const v = validatePolicyDocument(doc, options)
  if (v.policySet) return v.policySet
  const first = v.issues[0]!
  throw new PolicyError('ERR_POLICY_INVALID', first.message, { detail: { path: first.path, issues: v.issues.length } })
}
