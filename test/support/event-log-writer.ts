/**
 * A small writer of firmware-like TCG event logs (crypto-agile, SHA-256 bank only): a Spec ID
 * Event03 header (TCG_PCClientPCREvent), then TCG_PCR_EVENT2 records. Helpers build the event data
 * UEFI firmware logs (UEFI_VARIABLE_DATA with EFI_SIGNATURE_LISTs, separators, EFI actions, boot
 * applications, GRUB's kernel command line). `extends` is what a TPM must be extended with for the
 * log to replay: (pcr, sha256 digest) in log order.
 */
import { createHash } from 'node:crypto'

export const EV = {
  NO_ACTION: 0x3,
  SEPARATOR: 0x4,
  S_CRTM_VERSION: 0x8,
  IPL: 0xd,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EFI_ACTION: 0x80000007,
  EFI_VARIABLE_AUTHORITY: 0x800000e0,
} as const

export const GUIDS = {
  GLOBAL_VARIABLE: '8be4df61-93ca-11d2-aa0d-00e098032b8c',
  IMAGE_SECURITY_DATABASE: 'd719b2cb-3d3a-4596-a3bc-dad00e67656f',
  CERT_X509: 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072',
  CERT_SHA256: 'c1c41626-504c-4092-aca9-41f936934328',
  OWNER: '77fa9abd-0359-4d32-bd60-28f4e78f784b',
} as const

export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return b
}
function u16(n: number): Uint8Array {
  const b = new Uint8Array(2)
  new DataView(b.buffer).setUint16(0, n, true)
  return b
}
function u64(n: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true)
  return b
}
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}
const utf16 = (s: string) => new Uint8Array(Buffer.from(s, 'utf16le'))
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'))

/** An EFI_GUID in its mixed-endian wire form. */
export function guid(text: string): Uint8Array {
  const h = text.replace(/-/g, '')
  const b = Buffer.from(h, 'hex')
  return new Uint8Array([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)])
}

/** UEFI_VARIABLE_DATA (PFP §10.2.6). */
export function variableData(vendor: string, name: string, data: Uint8Array): Uint8Array {
  return cat(guid(vendor), u64(name.length), u64(data.length), utf16(name), data)
}

/** One EFI_SIGNATURE_LIST of one type; each signature = owner GUID + data (all the same size). */
export function signatureList(type: string, entries: readonly Uint8Array[]): Uint8Array {
  const size = 16 + (entries[0]?.length ?? 0)
  const sigs = cat(...entries.map((e) => cat(guid(GUIDS.OWNER), e)))
  return cat(guid(type), u32(28 + sigs.length), u32(0), u32(size), sigs)
}

export interface LogEvent {
  readonly pcr: number
  readonly type: number
  readonly data: Uint8Array
  /** the SHA-256 extended; default H(data) */
  readonly digest?: Uint8Array
}

export const events = {
  separator: (pcr: number): LogEvent => ({ pcr, type: EV.SEPARATOR, data: new Uint8Array(4) }),
  crtmVersion: (): LogEvent => ({ pcr: 0, type: EV.S_CRTM_VERSION, data: utf16('1.0\0') }),
  action: (pcr: number, text: string): LogEvent => ({ pcr, type: EV.EFI_ACTION, data: ascii(text) }),
  secureBoot: (on: boolean): LogEvent => ({
    pcr: 7,
    type: EV.EFI_VARIABLE_DRIVER_CONFIG,
    data: variableData(GUIDS.GLOBAL_VARIABLE, 'SecureBoot', new Uint8Array([on ? 1 : 0])),
  }),
  /** PK, KEK (global variables) or db, dbx (image security database) holding X.509 certificates and SHA-256 hashes */
  database: (name: 'PK' | 'KEK' | 'db' | 'dbx', certs: readonly Uint8Array[], hashes: readonly Uint8Array[] = []): LogEvent => {
    const lists = cat(
      ...certs.map((c) => signatureList(GUIDS.CERT_X509, [c])),
      ...(hashes.length ? [signatureList(GUIDS.CERT_SHA256, hashes)] : []),
    )
    const vendor = name === 'PK' || name === 'KEK' ? GUIDS.GLOBAL_VARIABLE : GUIDS.IMAGE_SECURITY_DATABASE
    return { pcr: 7, type: EV.EFI_VARIABLE_DRIVER_CONFIG, data: variableData(vendor, name, lists) }
  },
  /** the db certificate that verified the next boot application (EFI_SIGNATURE_DATA) */
  authority: (cert: Uint8Array): LogEvent => ({
    pcr: 7,
    type: EV.EFI_VARIABLE_AUTHORITY,
    data: variableData(GUIDS.IMAGE_SECURITY_DATABASE, 'db', cat(guid(GUIDS.OWNER), cert)),
  }),
  /** UEFI_IMAGE_LOAD_EVENT with an empty device path; the digest is the image's Authenticode hash */
  bootApplication: (authenticode: Uint8Array): LogEvent => ({
    pcr: 4,
    type: EV.EFI_BOOT_SERVICES_APPLICATION,
    data: cat(u64(0x7e000000), u64(0x100000), u64(0), u64(0)),
    digest: authenticode,
  }),
  /** GRUB's kernel command line in PCR 8: the text logged with its prefix, H(text) extended */
  kernelCommandLine: (text: string): LogEvent => ({
    pcr: 8,
    type: EV.IPL,
    data: ascii(`kernel_cmdline: ${text}\0`),
    digest: sha256(ascii(text)),
  }),
}

/** The crypto-agile log bytes and the (pcr, digest) extends it stands for. */
export function writeEventLog(list: readonly LogEvent[]): { bytes: Uint8Array; extends: { pcr: number; digest: Uint8Array }[] } {
  const spec = cat(ascii('Spec ID Event03\0'), u32(0), new Uint8Array([0, 2, 2, 2]), u32(1), u16(0x000b), u16(32), new Uint8Array([0]))
  const header = cat(u32(0), u32(EV.NO_ACTION), new Uint8Array(20), u32(spec.length), spec)
  const ext: { pcr: number; digest: Uint8Array }[] = []
  const records = list.map((e) => {
    const digest = e.digest ?? sha256(e.data)
    ext.push({ pcr: e.pcr, digest })
    return cat(u32(e.pcr), u32(e.type), u32(1), u16(0x000b), digest, u32(e.data.length), e.data)
  })
  return { bytes: cat(header, ...records), extends: ext }
}

/** The SHA-256 PCR values the extends lead to from reset (zeros). */
export function expectedPcrs(ext: readonly { pcr: number; digest: Uint8Array }[]): Map<number, Uint8Array> {
  const pcrs = new Map<number, Uint8Array>()
  for (const { pcr, digest } of ext) pcrs.set(pcr, sha256(cat(pcrs.get(pcr) ?? new Uint8Array(32), digest)))
  return pcrs
}
