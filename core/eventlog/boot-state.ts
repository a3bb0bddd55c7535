// The boot state a policy evaluates, read from a log whose PCRs were checked against a quote.
//
// Two rules keep it honest. (1) Only events in PCRs that replayed to the quoted values count.
// (2) The event type is not covered by any digest, so nothing here is decided by it: an event's
// data counts only when every digest vouch can compute equals the hash of that data (so the data
// is what the firmware extended), and what the data means is read from the data itself and from
// its PCR: PCR 7 variables before the first separator are Secure Boot configuration, after it
// verifying authorities; PCR 4 measurements whose digest is not the hash of their data are boot
// applications (their digest is the PE image hash); GRUB's and systemd's text events give the
// kernel command line. Retyping an event therefore cannot change the verdict.
import { bytesEqual } from '../bytes/equal.ts'
import { toHex, toHexAt } from '../bytes/encoding.ts'
import { isVerifyError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { parseCertificate } from '../x509/certificate.ts'
import { fingerprintSha256 } from '../x509/fingerprint.ts'
import { formatName } from '../x509/name.ts'
import { parseUefiImageLoadEvent } from './device-path.ts'
import { type EfiSignatureData, locateEfiSignatureLists, parseEfiSignatureData } from './efi-signature-list.ts'
import { type UefiVariableData, parseUefiVariableData } from './efi-variable.ts'
import { EV, bankName } from './event-types.ts'
import { formatGuid, GUID } from './guid.ts'
import { bankHash, digestNow, digestOf } from './hash.ts'
import type { EventLog, TcgEvent } from './parse.ts'
import type { QuirkName } from './quirks.ts'
import { decodeAscii, decodeUtf16le } from './text.ts'

export interface SignatureEntry {
  /** `x509`, `sha256`, ... */
  readonly kind: EfiSignatureData['kind']
  readonly owner: string
  /** x509: SHA-256 of the certificate DER; hashes: the hash itself (hex) */
  readonly sha256?: string
  readonly hash?: string
  /** x509 only, RFC 4514-style; absent when the certificate does not parse */
  readonly subject?: string
  readonly issuer?: string
}

export interface SignatureDatabase {
  readonly certificates: readonly SignatureEntry[]
  /** count of hash entries by kind, e.g. { sha256: 371 } */
  readonly hashCounts: Readonly<Record<string, number>>
  /** the SHA-256 hash entries, hex (dbx revocations) */
  readonly sha256Hashes: readonly string[]
}

export interface BootApplication {
  readonly event: number
  readonly pcr: number
  /** the PE image digests by bank (`sha256` -> hex); covered by the PCR */
  readonly digests: Readonly<Record<string, string>>
  /** from the event data, which no digest covers: informative only */
  readonly devicePath?: string
  /** SHA-256 fingerprints (or hashes) of the authorities logged since the previous boot application */
  readonly authorities: readonly string[]
}

export interface Authority extends SignatureEntry {
  readonly event: number
  /** the variable the authority came from: db, MokList, Shim, SbatLevel, ... */
  readonly variable: string
}

export type UncountedReason = 'pcr-not-verified' | 'digest-mismatch' | 'undecodable'

export interface BootState {
  /** PCRs whose events count (ReplayCheck.verifiedPcrs) */
  readonly verifiedPcrs: readonly number[]
  readonly quirksUsed: readonly QuirkName[]
  /** from the SecureBoot variable in a verified PCR 7; 'unknown' when it is absent or not a single byte */
  readonly secureBoot: 'enabled' | 'disabled' | 'unknown'
  readonly pk?: SignatureDatabase
  readonly kek?: SignatureDatabase
  readonly db?: SignatureDatabase
  readonly dbx?: SignatureDatabase
  /** PCR 7 authorities after the separator, in log order */
  readonly authorities: readonly Authority[]
  /** PCR 4 image measurements in order */
  readonly bootApplications: readonly BootApplication[]
  /** kernel command lines in log order (GRUB: PCR 8; systemd-stub: PCR 12) */
  readonly kernelCommandLines: readonly string[]
  /** GRUB commands in order */
  readonly grubCommands: readonly string[]
  /** shim: SbatLevel (verified text) and MokList measurements (name as logged, digest covered) */
  readonly shim: {
    readonly sbatLevel?: string
    readonly mokLists: readonly { name: string; event: number; sha256?: string }[]
    /** small shim variables logged as authorities (MokListTrusted, ...), value in hex */
    readonly variables: readonly { name: string; value: string; event: number }[]
  }
  /** events that did not count, and why (pcr-not-verified is summarised per PCR: first event listed) */
  readonly uncounted: readonly { event: number; pcr: number; reason: UncountedReason }[]
}

export interface EvaluateBootStateOptions {
  /** PCRs whose events count; from checkReplay().verifiedPcrs */
  readonly verifiedPcrs: readonly number[]
  /** quirks the replay check used (ReplayCheck.quirksUsed): carried into the state */
  readonly quirksUsed?: readonly QuirkName[]
  /** quirks the policy tolerates while reading events (`shim-authority-size`) */
  readonly quirks?: readonly QuirkName[]
  readonly platform?: Platform
}

const CONFIG_VARIABLES = new Set(['SecureBoot', 'PK', 'KEK', 'db', 'dbx'])

/** shim's authority events carry zero padding after UEFI_VARIABLE_DATA (see quirks.ts) */
function trimZeros(d: Uint8Array): Uint8Array {
  try {
    const v = parseUefiVariableData(d, { allowTrailingZeros: true })
    return d.subarray(0, 32 + v.name.length * 2 + v.data.length)
  } catch {
    return d
  }
}

function isSeparatorData(d: Uint8Array): boolean {
  return d.length === 4 && (d.every((b) => b === 0) || d.every((b) => b === 0xff))
}

/** Whether every digest vouch can compute equals the hash of `data` (at least one); undefined when a hash needs the provider. */
function dataMatchesNow(e: TcgEvent, data: Uint8Array, platform: Platform): boolean | undefined {
  let checked = 0
  for (const d of e.digests) {
    if (!bankHash(d.alg)) continue
    const h = digestNow(d.alg, data, platform)
    if (h === undefined) return undefined
    if (!bytesEqual(h, d.digest)) return false
    checked++
  }
  return checked > 0
}

/** dataMatchesNow through the provider's hashes. */
async function dataMatchesLater(e: TcgEvent, data: Uint8Array, platform: Platform): Promise<boolean> {
  let checked = 0
  for (const d of e.digests) {
    if (!bankHash(d.alg)) continue
    if (!bytesEqual(await digestOf(d.alg, data, platform), d.digest)) return false
    checked++
  }
  return checked > 0
}

async function signatureEntry(
  s: { kind: EfiSignatureData['kind']; owner: string; data: Uint8Array },
  platform: Platform,
): Promise<SignatureEntry> {
  if (s.kind !== 'x509') return { kind: s.kind, owner: s.owner, hash: toHex(s.data) }
  const sha256 = await fingerprintSha256(s.data, platform)
  try {
    const cert = parseCertificate(s.data, { allowTrailingData: true })
    return { kind: s.kind, owner: s.owner, sha256, subject: formatName(cert.subject), issuer: formatName(cert.issuer) }
  } catch (e) {
    if (!isVerifyError(e)) throw e
    return { kind: s.kind, owner: s.owner, sha256 }
  }
}

async function database(v: UefiVariableData, platform: Platform): Promise<SignatureDatabase> {
  const certificates: SignatureEntry[] = []
  const hashCounts: Record<string, number> = {}
  const sha256Hashes: string[] = []
  for (const list of locateEfiSignatureLists(v.data)) {
    if (list.count === 0) continue
    if (list.kind === 'x509') {
      for (let i = 0; i < list.count; i++) {
        const at = list.first + i * list.signatureSize
        const data = v.data.subarray(at + 16, at + list.signatureSize)
        certificates.push(await signatureEntry({ kind: 'x509', owner: formatGuid(v.data, at), data }, platform))
      }
      continue
    }
    hashCounts[list.kind] = (hashCounts[list.kind] ?? 0) + list.count
    if (list.kind === 'sha256' && list.signatureSize === 48) {
      // the hashes are read in place: owner GUID (16 bytes), then the 32-byte hash
      const starts: number[] = new Array(list.count)
      for (let i = 0; i < list.count; i++) starts[i] = list.first + i * 48 + 16
      for (const hex of toHexAt(v.data, starts, 32)) sha256Hashes.push(hex)
    } else if (list.kind === 'sha256') {
      for (let i = 0; i < list.count; i++) {
        const at = list.first + i * list.signatureSize
        sha256Hashes.push(toHex(v.data.subarray(at + 16, at + list.signatureSize)))
      }
    }
  }
  return { certificates, hashCounts, sha256Hashes }
}

const TEXT_PREFIXES: readonly { prefix: string; kind: 'cmdline' | 'grub' }[] = [
  { prefix: 'kernel_cmdline: ', kind: 'cmdline' },
  { prefix: 'grub_kernel_cmdline ', kind: 'cmdline' },
  { prefix: 'grub_cmd: ', kind: 'grub' },
  { prefix: 'grub_cmd ', kind: 'grub' },
]

function startsWith(data: Uint8Array, prefix: string): boolean {
  if (data.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix.charCodeAt(i)) return false
  return true
}

/** GRUB logs `prefix + text + NUL` and extends H(text), with or without the NUL by distribution. */
async function grubText(
  e: TcgEvent,
  match: (typeof TEXT_PREFIXES)[number],
  platform: Platform,
): Promise<{ kind: 'cmdline' | 'grub'; text: string } | undefined> {
  const ascii = decodeAscii(e.data)
  if (ascii === undefined) return undefined
  const body = e.data.subarray(match.prefix.length)
  const trimmed = body.length > 0 && body[body.length - 1] === 0 ? body.subarray(0, body.length - 1) : body
  if (
    (dataMatchesNow(e, trimmed, platform) ?? (await dataMatchesLater(e, trimmed, platform))) ||
    (dataMatchesNow(e, body, platform) ?? (await dataMatchesLater(e, body, platform)))
  ) {
    return { kind: match.kind, text: ascii.slice(match.prefix.length) }
  }
  return undefined
}

/** Builds the boot state from the events of verified PCRs (see the file comment for the rules). */
export async function evaluateBootState(log: EventLog, options: EvaluateBootStateOptions): Promise<BootState> {
  const platform = options.platform ?? defaultPlatform()
  const verified = new Set(options.verifiedPcrs)
  const uncounted: { event: number; pcr: number; reason: UncountedReason }[] = []
  const reportedPcr = new Set<number>()
  let secureBoot: BootState['secureBoot'] = 'unknown'
  const dbs: Partial<Record<'PK' | 'KEK' | 'db' | 'dbx', SignatureDatabase>> = {}
  const authorities: Authority[] = []
  const bootApplications: BootApplication[] = []
  const kernelCommandLines: string[] = []
  const grubCommands: string[] = []
  const mokLists: { name: string; event: number; sha256?: string }[] = []
  let sbatLevel: string | undefined
  const shimVariables: { name: string; value: string; event: number }[] = []
  const quirksUsed = new Set<QuirkName>(options.quirksUsed)
  const shimQuirk = options.quirks?.includes('shim-authority-size') ?? false
  let pcr7Separated = false
  let pendingAuthorities: string[] = []

  for (const e of log.events) {
    if (e.type === EV.NO_ACTION) continue
    if (!verified.has(e.pcr)) {
      if (!reportedPcr.has(e.pcr)) uncounted.push({ event: e.index, pcr: e.pcr, reason: 'pcr-not-verified' })
      reportedPcr.add(e.pcr)
      continue
    }
    // whether the data is what the firmware extended: hashed only where the reading depends on it
    if (e.pcr === 7) {
      const covered = dataMatchesNow(e, e.data, platform) ?? (await dataMatchesLater(e, e.data, platform))
      let data = e.data
      if (!covered) {
        const cut = shimQuirk ? e.data.subarray(0, e.data.length - 1) : undefined
        if (!cut || !(dataMatchesNow(e, cut, platform) ?? (await dataMatchesLater(e, cut, platform)))) {
          uncounted.push({ event: e.index, pcr: 7, reason: 'digest-mismatch' })
          continue
        }
        data = trimZeros(cut)
        quirksUsed.add('shim-authority-size')
      }
      if (isSeparatorData(data)) {
        pcr7Separated = true
        continue
      }
      let v: UefiVariableData
      try {
        v = parseUefiVariableData(data)
      } catch (err) {
        if (!isVerifyError(err)) throw err
        if (decodeAscii(data) === undefined) uncounted.push({ event: e.index, pcr: 7, reason: 'undecodable' })
        continue // an EFI action string ("DMA Protection Disabled", ...)
      }
      try {
        if (!pcr7Separated) {
          if (v.guid === GUID.GLOBAL_VARIABLE && v.name === 'SecureBoot') {
            // an absent variable is measured with no data (PFP §3.3.4.2): the platform is not in Secure Boot mode
            const on = v.data.length === 1 && v.data[0] === 1
            const off = v.data.length === 0 || (v.data.length === 1 && v.data[0] === 0)
            secureBoot = on ? 'enabled' : off ? 'disabled' : 'unknown'
          } else if (CONFIG_VARIABLES.has(v.name) && (v.guid === GUID.GLOBAL_VARIABLE || v.guid === GUID.IMAGE_SECURITY_DATABASE)) {
            dbs[v.name as 'PK'] = await database(v, platform)
          }
        } else if (v.guid === GUID.SHIM_LOCK && v.name === 'SbatLevel') {
          sbatLevel = decodeAscii(v.data) ?? toHex(v.data)
        } else if (v.guid === GUID.SHIM_LOCK && v.data.length <= 16) {
          // MokListTrusted, MokSBState, ...: shim state flags
          shimVariables.push({ name: v.name, value: toHex(v.data), event: e.index })
        } else {
          // firmware logs one EFI_SIGNATURE_DATA (owner GUID, then a certificate or a hash); shim
          // logs its built-in certificate ("Shim") as bare DER
          const bare = v.data[0] === 0x30 && v.data[1] === 0x82
          const s = bare ? { owner: '', data: v.data } : parseEfiSignatureData(v.data)
          const kind = s.data[0] === 0x30 && s.data.length > 64 ? 'x509' : s.data.length === 32 ? 'sha256' : 'other'
          const entry = await signatureEntry({ kind, owner: s.owner, data: s.data }, platform)
          authorities.push({ ...entry, event: e.index, variable: v.name })
          pendingAuthorities.push(entry.sha256 ?? entry.hash ?? '')
        }
      } catch (err) {
        if (!isVerifyError(err)) throw err
        uncounted.push({ event: e.index, pcr: 7, reason: 'undecodable' })
      }
      continue
    }
    if (e.pcr === 4) {
      if (dataMatchesNow(e, e.data, platform) ?? (await dataMatchesLater(e, e.data, platform))) continue // separator, EFI action strings: their data is what was measured
      let devicePath: string | undefined
      try {
        devicePath = parseUefiImageLoadEvent(e.data).devicePath
      } catch (err) {
        if (!isVerifyError(err)) throw err
      }
      const digests: Record<string, string> = {}
      for (const d of e.digests) digests[bankName(d.alg)] = toHex(d.digest)
      bootApplications.push({ event: e.index, pcr: 4, digests, devicePath, authorities: pendingAuthorities })
      pendingAuthorities = []
      continue
    }
    if (e.pcr === 14) {
      const name = decodeAscii(e.data)
      if (name !== undefined && /^MokList(X|Trusted)?$/.test(name)) {
        const sha256 = e.digests.find((d) => d.alg === 0x000b)
        mokLists.push({ name, event: e.index, ...(sha256 ? { sha256: toHex(sha256.digest) } : {}) })
      }
      continue
    }
    // the prefixes are printable ASCII: only data that starts with one is decoded as a whole
    const prefix = TEXT_PREFIXES.find((x) => startsWith(e.data, x.prefix))
    const grub = prefix === undefined ? undefined : await grubText(e, prefix, platform)
    if (grub) {
      if (grub.kind === 'cmdline') kernelCommandLines.push(grub.text)
      else grubCommands.push(grub.text)
      continue
    }
    if (
      e.pcr === 12 &&
      e.data.length % 2 === 0 &&
      e.data.length >= 2 &&
      e.data[1] === 0 &&
      (dataMatchesNow(e, e.data, platform) ?? (await dataMatchesLater(e, e.data, platform)))
    ) {
      // systemd-stub: the kernel command line, UTF-16LE, extended as is
      kernelCommandLines.push(decodeUtf16le(e.data))
    }
  }
  return {
    verifiedPcrs: [...verified].sort((a, b) => a - b),
    quirksUsed: [...quirksUsed],
    secureBoot,
    ...(dbs.PK ? { pk: dbs.PK } : {}),
    ...(dbs.KEK ? { kek: dbs.KEK } : {}),
    ...(dbs.db ? { db: dbs.db } : {}),
    ...(dbs.dbx ? { dbx: dbs.dbx } : {}),
    authorities,
    bootApplications,
    kernelCommandLines,
    grubCommands,
    shim: { ...(sbatLevel !== undefined ? { sbatLevel } : {}), mokLists, variables: shimVariables },
    uncounted,
  }
}
