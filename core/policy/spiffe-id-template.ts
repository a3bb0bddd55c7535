/**
 * SPIFFE ID path templates: literal text with `{{attribute.key}}` placeholders, e.g. the default
 * `/agents/tpm-devid/{{tpm_devid.certificate.fingerprint}}`. A template is checked when the
 * policy is loaded (every placeholder must be an attribute the policy's attestors produce; the
 * literal text must be path-shaped) and rendered per verdict; the rendered path must be a valid
 * SPIFFE ID path (SPIFFE-ID.md §2.2), so an attribute value with a `/`, a space or a non-ASCII
 * character is refused rather than escaped.
 */
import { AttestationError, VerifyError } from '../errors.ts'
import { checkPath } from '../svid/path.ts'

export type TemplatePart = { readonly literal: string } | { readonly placeholder: string }

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g

/**
 * Splits a template into literals and placeholders. Returns the problems found (empty when the
 * template is valid for `allowedKeys`); never throws.
 */
export function checkSpiffeIdTemplate(template: string, allowedKeys: readonly string[]): string[] {
  const problems: string[] = []
  if (!template.startsWith('/')) problems.push('template must start with "/"')
  let parts: TemplatePart[] = []
  try {
    parts = parseSpiffeIdTemplate(template)
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e))
    return problems
  }
  for (const p of parts) {
    if ('placeholder' in p && !allowedKeys.includes(p.placeholder)) {
      problems.push(`unknown placeholder {{${p.placeholder}}}; expected one of ${allowedKeys.join(', ')}`)
    }
  }
  // the literal skeleton, with every placeholder standing for one safe character, must be a valid path
  const skeleton = parts.map((p) => ('literal' in p ? p.literal : 'x')).join('')
  try {
    checkPath(skeleton)
  } catch (e) {
    if (e instanceof VerifyError) problems.push(`template is not a SPIFFE ID path: ${e.message}`)
    else throw e
  }
  return problems
}

/** Literal and placeholder parts; throws AttestationError on `{{` or `}}` without a partner or an empty placeholder. */
export function parseSpiffeIdTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  let last = 0
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ literal: template.slice(last, m.index) })
    const key = m[1]!
    if (key === '') throw templateError('empty placeholder {{}}')
    parts.push({ placeholder: key })
    last = m.index + m[0].length
  }
  if (last < template.length) parts.push({ literal: template.slice(last) })
  for (const p of parts) {
    if ('literal' in p && (p.literal.includes('{{') || p.literal.includes('}}'))) {
      throw templateError('unbalanced "{{" or "}}"')
    }
  }
  return parts
}

/**
 * Renders a template with attribute values. Throws AttestationError ERR_SPIFFE_ID_INVALID when a
 * placeholder has no value for this agent or the result is not a valid SPIFFE ID path.
 */
/** Parsed templates: a policy has one or two, rendered for every attestation. Bounded. */
const parsedTemplates = new Map<string, TemplatePart[]>()

function parsedTemplate(template: string): TemplatePart[] {
  let parts = parsedTemplates.get(template)
  if (!parts) {
    parts = parseSpiffeIdTemplate(template)
    if (parsedTemplates.size >= 256) parsedTemplates.clear()
    parsedTemplates.set(template, parts)
  }
  return parts
}

export function renderSpiffeIdTemplate(template: string, attributes: Readonly<Record<string, string>>): string {
  const out = parsedTemplate(template)
    .map((p) => {
      if ('literal' in p) return p.literal
      const v = attributes[p.placeholder]
      if (v === undefined) throw templateError(`placeholder {{${p.placeholder}}} has no value for this agent`)
      return v
    })
    .join('')
  try {
    checkPath(out)
  } catch (e) {
    if (e instanceof VerifyError) throw templateError(`rendered path is not a SPIFFE ID path: ${e.message}`)
    throw e
  }
  return out
}

function templateError(message: string): AttestationError {
  return new AttestationError('ERR_SPIFFE_ID_INVALID', `spiffe id template: ${message}`)
}
