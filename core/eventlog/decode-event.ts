// What an event says, decoded by its logged type the way tools print it. For display only: the
// type is not covered by any digest, so verdicts come from boot-state.ts, which reads content.
import { toHex } from '../bytes/encoding.ts'
import { parseSpecIdEvent, type TcgEvent } from './parse.ts'
import { EV, bankName } from './event-types.ts'
import { formatDevicePath, parseUefiImageLoadEvent } from './device-path.ts'
import { parseEfiSignatureLists, parseEfiSignatureData } from './efi-signature-list.ts'
import { parseEfiLoadOption, parseUefiVariableData } from './efi-variable.ts'
import { parseUefiGptData } from './gpt.ts'
import { leReader } from './le-reader.ts'
import { startupLocalityOf } from './replay.ts'
import { decodeAscii, decodeUtf16le } from './text.ts'
import { isVerifyError } from '../errors.ts'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue }

export interface DecodedEvent {
  /** one line for humans */
  readonly summary: string
  /** structured fields, JSON-safe */
  readonly fields: { [k: string]: JsonValue }
  /** set when the data does not decode as the logged type's structure: the stable code */
  readonly error?: string
}

function text(bytes: Uint8Array): string {
  const ascii = decodeAscii(bytes)
  if (ascii !== undefined) return ascii
  // UTF-16LE when every odd byte is zero
  if (bytes.length >= 2 && bytes.length % 2 === 0 && bytes.every((b, i) => i % 2 === 0 || b === 0)) return decodeUtf16le(bytes)
  return `<${bytes.length} bytes>`
}

function blob(bytes: Uint8Array, withDescription: boolean): DecodedEvent {
  const r = leReader(bytes, withDescription ? 'UEFI_PLATFORM_FIRMWARE_BLOB2' : 'UEFI_PLATFORM_FIRMWARE_BLOB')
  const description = withDescription ? text(r.take(r.u8('BlobDescriptionSize'), 'BlobDescription')) : undefined
  const base = r.u64('BlobBase')
  const length = r.u64('BlobLength')
  r.expectEnd()
  const fields: { [k: string]: JsonValue } = { base: `0x${base.toString(16)}`, length: `0x${length.toString(16)}` }
  if (description !== undefined) fields.description = description
  return { summary: `${description ? `${description} ` : ''}base 0x${base.toString(16)} length 0x${length.toString(16)}`, fields }
}

function variable(bytes: Uint8Array): DecodedEvent {
  const v = parseUefiVariableData(bytes)
  const fields: { [k: string]: JsonValue } = { guid: v.guid, name: v.name, size: v.data.length }
  let summary = `${v.name} (${v.data.length} bytes)`
  if (v.name === 'SecureBoot' && v.data.length === 1) {
    fields.value = v.data[0]!
    summary = `SecureBoot = ${v.data[0]}`
  } else if (['PK', 'KEK', 'db', 'dbx', 'dbt', 'dbr', 'MokList', 'MokListX', 'MokListTrusted', 'Shim'].includes(v.name)) {
    try {
      const sigs = parseEfiSignatureLists(v.data)
      const counts: { [k: string]: JsonValue } = {}
      for (const s of sigs) counts[s.kind] = ((counts[s.kind] as number | undefined) ?? 0) + 1
      fields.signatures = counts
      summary = `${v.name}: ${
        Object.entries(counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || 'empty'
      }`
    } catch {
      if (v.data.length <= 16) {
        // a flag (MokListTrusted = 01)
        fields.value = toHex(v.data)
        summary = `${v.name} = ${toHex(v.data)}`
      } else if (v.data[0] === 0x30 && v.data[1] === 0x82) {
        // shim logs its built-in certificate as bare DER
        summary = `${v.name}: certificate (${v.data.length} bytes)`
      } else {
        // an authority event carries one EFI_SIGNATURE_DATA, not a list
        const s = parseEfiSignatureData(v.data)
        fields.owner = s.owner
        summary = `${v.name}: signature data from owner ${s.owner} (${s.data.length} bytes)`
      }
    }
  } else if (/^Boot[0-9A-F]{4}$/.test(v.name)) {
    const o = parseEfiLoadOption(v.data)
    fields.description = o.description
    fields.devicePath = formatDevicePath(o.filePathList)
    summary = `${v.name}: ${o.description} ${fields.devicePath}`
  } else if (v.name === 'BootOrder' && v.data.length % 2 === 0) {
    const order: string[] = []
    for (let i = 0; i + 1 < v.data.length; i += 2)
      order.push((v.data[i]! | (v.data[i + 1]! << 8)).toString(16).toUpperCase().padStart(4, '0'))
    fields.order = order
    summary = `BootOrder: ${order.join(',')}`
  } else if (v.data.length <= 16) {
    fields.value = toHex(v.data)
    summary = `${v.name} = ${toHex(v.data) || '<empty>'}`
  }
  return { summary, fields }
}

function decodeByType(e: TcgEvent): DecodedEvent {
  switch (e.type) {
    case EV.NO_ACTION: {
      if (e.index === 0 && e.data.length >= 16 && decodeAscii(e.data.subarray(0, 15)) === 'Spec ID Event03') {
        const s = parseSpecIdEvent(e.data)
        const banks = s.algorithms.map((a) => bankName(a.alg))
        return {
          summary: `Spec ID Event03: ${banks.join(', ')}`,
          fields: { banks, uintnSize: s.uintnSize, vendorInfo: toHex(s.vendorInfo) },
        }
      }
      const loc = startupLocalityOf(e)
      if (loc !== undefined) return { summary: `StartupLocality ${loc}`, fields: { startupLocality: loc } }
      const sig = decodeAscii(e.data.subarray(0, Math.min(16, e.data.length)))
      return { summary: sig ? `${sig} (${e.data.length} bytes)` : `${e.data.length} bytes`, fields: { signature: sig ?? null } }
    }
    case EV.SEPARATOR: {
      const value = e.data.length === 4 ? toHex(e.data) : null
      return { summary: `separator ${value ?? `<${e.data.length} bytes>`}`, fields: { value } }
    }
    case EV.S_CRTM_VERSION:
    case EV.EFI_ACTION:
    case EV.ACTION:
    case EV.EFI_HCRTM_EVENT:
    case EV.S_CRTM_CONTENTS:
    case EV.NONHOST_INFO:
    case EV.COMPACT_HASH:
      return { summary: text(e.data), fields: { text: text(e.data) } }
    case EV.POST_CODE:
    case EV.POST_CODE2:
      return e.data.length === 16 && decodeAscii(e.data) === undefined
        ? blob(e.data, false)
        : { summary: text(e.data), fields: { text: text(e.data) } }
    case EV.EFI_PLATFORM_FIRMWARE_BLOB:
      return blob(e.data, false)
    case EV.EFI_PLATFORM_FIRMWARE_BLOB2:
      return blob(e.data, true)
    case EV.EFI_VARIABLE_DRIVER_CONFIG:
    case EV.EFI_VARIABLE_BOOT:
    case EV.EFI_VARIABLE_BOOT2:
    case EV.EFI_VARIABLE_AUTHORITY:
      return variable(e.data)
    case EV.EFI_BOOT_SERVICES_APPLICATION:
    case EV.EFI_BOOT_SERVICES_DRIVER:
    case EV.EFI_RUNTIME_SERVICES_DRIVER: {
      const i = parseUefiImageLoadEvent(e.data)
      return {
        summary: i.devicePath || '<no device path>',
        fields: { devicePath: i.devicePath, imageLength: `0x${i.imageLengthInMemory.toString(16)}` },
      }
    }
    case EV.EFI_GPT_EVENT:
    case EV.EFI_GPT_EVENT2: {
      const g = parseUefiGptData(e.data)
      return {
        summary: `GPT disk ${g.diskGuid}, ${g.partitions.length} partitions`,
        fields: { diskGuid: g.diskGuid, partitions: g.partitions.map((p) => ({ type: p.typeGuid, guid: p.uniqueGuid, name: p.name })) },
      }
    }
    case EV.IPL:
      return { summary: text(e.data), fields: { text: text(e.data) } }
    default:
      return { summary: `<${e.data.length} bytes>`, fields: {} }
  }
}

/** Decodes one event by its logged type; malformed data gives `error` (a stable code), never a throw. */
export function decodeEvent(e: TcgEvent): DecodedEvent {
  try {
    return decodeByType(e)
  } catch (err) {
    if (!isVerifyError(err)) throw err
    return { summary: `<undecodable: ${err.message}>`, fields: {}, error: err.code }
  }
}
