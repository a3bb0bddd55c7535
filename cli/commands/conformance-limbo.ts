/**
 * `vouch conformance limbo LIMBO_JSON[.gz] --out RESULTS_JSON`: runs x509-limbo testcases
 * (C2SP/x509-limbo) through verifyChain and writes a limbo results file.
 *
 * In scope: path building and RFC 5280 path validation (every pathlen::, rfc5280::,
 * pathological::, cve::, invalid:: and bettertls:: case, SERVER and CLIENT, validated for that
 * purpose: a certificate's extKeyUsage must allow serverAuth or clientAuth), plus the leaf checks limbo asks
 * for beyond path validation (the expected DNS/IP/RFC822 peer names against the leaf SAN, leaf
 * keyUsage and EKU), done here in the harness only. Out of scope (SKIPPED with the reason): CRLs,
 * webpki:: (CA/Browser Forum policy) and online:: cases (see docs/conformance.md).
 */
import { writeFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { parsePemCertificates } from '../../core/bytes/pem.ts'
import { VerifyError } from '../../core/errors.ts'
import { OID } from '../../core/der/oid.ts'
import { parseCertificate, type Certificate } from '../../core/x509/certificate.ts'
import { KEY_USAGE } from '../../core/x509/extensions.ts'
import { verifyChain } from '../../core/x509/verify.ts'
import type { Platform } from '../../core/platform.ts'
import { parseArgs, requireOption, UsageError } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'

export interface LimboTestcase {
  id: string
  features?: string[] | null
  validation_kind: string
  trusted_certs: string[]
  untrusted_intermediates: string[]
  peer_certificate: string
  validation_time?: string | null
  key_usage?: string[] | null
  extended_key_usage?: string[] | null
  expected_result: 'SUCCESS' | 'FAILURE'
  expected_peer_name?: LimboPeerName | null
  expected_peer_names?: LimboPeerName[] | null
  max_chain_depth?: number | null
  crls?: unknown[] | null
}

export interface LimboPeerName {
  kind: string
  value: string
}

export interface LimboResult {
  id: string
  actual_result: 'SUCCESS' | 'FAILURE' | 'SKIPPED'
  context: string
}

/** Features (limbo `features`) vouch does not implement, with the reason. */
const SKIP_FEATURES: Record<string, string> = {
  'pedantic-webpki': 'CA/Browser Forum (webpki) policy is out of scope',
  'pedantic-webpki-eku': 'CA/Browser Forum EKU policy is out of scope',
  'pedantic-public-suffix-wildcard': 'public suffix list is out of scope',
  'has-crl': 'CRLs are out of scope',
}

/** Prefixes out of scope, with the reason. */
const SKIP_PREFIXES: Record<string, string> = {
  'webpki::': 'CA/Browser Forum (webpki) policy is out of scope; vouch validates RFC 5280 paths',
  'online::': 'real-world web PKI chains (webpki policy) are out of scope',
  'crl::': 'CRLs are out of scope',
}

/** Why `tc` is out of scope, or undefined when it runs. */
export function skipReason(tc: LimboTestcase): string | undefined {
  if (tc.validation_kind !== 'SERVER' && tc.validation_kind !== 'CLIENT') return `validation kind ${tc.validation_kind} is out of scope`
  for (const [p, why] of Object.entries(SKIP_PREFIXES)) if (tc.id.startsWith(p)) return why
  for (const f of tc.features ?? []) if (SKIP_FEATURES[f]) return `${f}: ${SKIP_FEATURES[f]}`
  if (tc.crls && tc.crls.length > 0) return 'CRLs are out of scope'
  return undefined
}

function der(pem: string): Uint8Array {
  const all = parsePemCertificates(pem)
  if (all.length !== 1) throw new VerifyError('ERR_X509_MALFORMED', `expected one PEM certificate, found ${all.length}`)
  return all[0]!
}

/** RFC 6125 §6.4: case-insensitive, a wildcard only as the whole leftmost label. */
function dnsNameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '')
  const h = host.toLowerCase().replace(/\.$/, '')
  if (p === h) return true
  if (!p.startsWith('*.')) return false
  const rest = p.slice(1)
  const dot = h.indexOf('.')
  return dot > 0 && h.slice(dot) === rest && rest.split('.').length > 2
}

function ipBytes(text: string): Uint8Array | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) return new Uint8Array(text.split('.').map(Number))
  if (!text.includes(':')) return undefined
  const [head, tail] = text.split('::') as [string, string | undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  if (groups.length !== 8) return undefined
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    const v = parseInt(g, 16)
    out[2 * i] = v >> 8
    out[2 * i + 1] = v & 0xff
  })
  return out
}

/** RFC 5280 §4.2.1.6 / §7.5: the local part exactly, the host case-insensitively. */
function mailboxEquals(a: string, b: string): boolean {
  const i = a.lastIndexOf('@')
  const j = b.lastIndexOf('@')
  return i > 0 && j > 0 && a.slice(0, i) === b.slice(0, j) && a.slice(i + 1).toLowerCase() === b.slice(j + 1).toLowerCase()
}

/** The limbo leaf checks that are not path validation; a message when one fails. */
function leafPolicy(tc: LimboTestcase, leaf: Certificate): string | undefined {
  const wanted = [...(tc.expected_peer_name ? [tc.expected_peer_name] : []), ...(tc.expected_peer_names ?? [])]
  for (const want of wanted) {
    const san = leaf.subjectAltName ?? []
    if (want.kind === 'RFC822') {
      if (!san.some((n) => n.type === 'rfc822Name' && mailboxEquals(n.value, want.value)))
        return `peer mailbox ${want.value} not in the leaf SAN`
    } else if (want.kind === 'DNS') {
      // the SAN only, never the subject CN (RFC 9525 §6.3, which retired RFC 6125's CN fallback)
      if (!san.some((n) => n.type === 'dNSName' && dnsNameMatches(n.value, want.value)))
        return `peer name ${want.value} not in the leaf SAN`
    } else if (want.kind === 'IP') {
      const ip = ipBytes(want.value)
      if (!ip || !san.some((n) => n.type === 'iPAddress' && n.bytes.length === ip.length && n.bytes.every((b, i) => b === ip[i]))) {
        return `peer IP ${want.value} not in the leaf SAN`
      }
    } else return `peer name kind ${want.kind} is not supported`
  }
  for (const ku of tc.key_usage ?? []) {
    const bit = KEY_USAGE[ku as keyof typeof KEY_USAGE]
    if (bit !== undefined && leaf.keyUsage !== undefined && (leaf.keyUsage & bit) === 0) return `leaf keyUsage lacks ${ku}`
  }
  for (const eku of tc.extended_key_usage ?? []) {
    const oid = eku === 'serverAuth' ? OID.serverAuth : eku === 'clientAuth' ? OID.clientAuth : undefined
    const have = leaf.extKeyUsage
    if (oid && have && !have.includes(oid) && !have.includes(OID.anyExtendedKeyUsage)) return `leaf extKeyUsage lacks ${eku}`
  }
  return undefined
}

export async function runLimboCase(tc: LimboTestcase, options: { platform?: Platform; now?: number } = {}): Promise<LimboResult> {
  const skip = skipReason(tc)
  if (skip) return { id: tc.id, actual_result: 'SKIPPED', context: skip }
  try {
    const leaf = parseCertificate(der(tc.peer_certificate))
    const at = tc.validation_time ? Date.parse(tc.validation_time) : (options.now ?? Date.now())
    const chain = await verifyChain(
      {
        leaf,
        intermediates: tc.untrusted_intermediates.map(der),
        anchors: tc.trusted_certs.map(der),
        at,
        ...(tc.max_chain_depth != null ? { maxDepth: tc.max_chain_depth } : {}),
        // limbo's SERVER/CLIENT validation is for that purpose: a CA's EKU must allow it
        extKeyUsage: tc.validation_kind === 'CLIENT' ? OID.clientAuth : OID.serverAuth,
      },
      options.platform ? { platform: options.platform } : {},
    )
    const why = leafPolicy(tc, leaf)
    if (why) return { id: tc.id, actual_result: 'FAILURE', context: why }
    return { id: tc.id, actual_result: 'SUCCESS', context: `path of ${chain.path.length} certificates` }
  } catch (e) {
    if (e instanceof VerifyError) return { id: tc.id, actual_result: 'FAILURE', context: `${e.code}: ${e.message}` }
    if (e instanceof TypeError || e instanceof RangeError) return { id: tc.id, actual_result: 'FAILURE', context: String(e) }
    throw e
  }
}

export async function runLimbo(doc: { testcases: LimboTestcase[] }, options: { platform?: Platform; now?: number } = {}) {
  const results: LimboResult[] = []
  for (const tc of doc.testcases) results.push(await runLimboCase(tc, options))
  return { version: 1, harness: 'vouch', results }
}

/** A limbo file's text: JSON, or JSON gzipped (the bettertls:: cases are kept as limbo-bettertls.json.gz). */
export function decodeLimboFile(bytes: Uint8Array): string {
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b
  return new TextDecoder().decode(gzipped ? gunzipSync(bytes, { maxOutputLength: 512 * 1024 * 1024 }) : bytes)
}

export const conformanceLimbo: Command = {
  usage: 'vouch conformance limbo LIMBO_JSON[.gz] --out RESULTS_JSON',
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['out'] })
    const out = requireOption(args, 'out')
    if (args.positionals.length !== 1) throw new UsageError('expected one LIMBO_JSON file')
    const path = args.positionals[0]!
    let doc: { testcases?: unknown }
    try {
      doc = JSON.parse(decodeLimboFile(readInput(path, 'limbo file')))
    } catch (e) {
      if (e instanceof UsageError) throw e
      throw new UsageError(`${path}: not JSON (or gzipped JSON)`)
    }
    if (!Array.isArray(doc.testcases)) throw new UsageError(`${path}: no testcases array`)
    const report = await runLimbo(doc as { testcases: LimboTestcase[] })
    writeFileSync(out, JSON.stringify(report, null, 1) + '\n')
    const count = (r: string) => report.results.filter((x) => x.actual_result === r).length
    io.out(
      `${report.results.length} testcases: ${count('SUCCESS')} success, ${count('FAILURE')} failure, ${count('SKIPPED')} skipped; results in ${out}`,
    )
    return report.results.length > 0 ? EXIT_OK : EXIT_INVALID
  },
}
