// EFI_DEVICE_PATH_PROTOCOL (UEFI 2.10 §10.3) to its text form (§10.6), for the nodes boot paths
// use; any other node prints as Path(type,subtype,hex). Never throws for a well-framed path.
import { toHex } from '../bytes/encoding.ts'
import { formatGuid } from './guid.ts'
import { leReader, u64Size } from './le-reader.ts'
import { decodeUtf16le } from './text.ts'

const MAX_NODES = 256

function hex(n: number | bigint): string {
  return `0x${n.toString(16).toUpperCase()}`
}

function node(type: number, subtype: number, body: Uint8Array): string {
  const r = leReader(body, 'device path node')
  try {
    if (type === 1 && subtype === 1) {
      const fn = r.u8('Function')
      return `Pci(${hex(r.u8('Device'))},${hex(fn)})`
    }
    if (type === 1 && subtype === 4) return `VenHw(${formatGuid(r.take(16, 'GUID'))})`
    if (type === 2 && subtype === 1) {
      const hid = r.u32('HID')
      const uid = r.u32('UID')
      return hid === 0x0a0341d0 ? `PciRoot(${hex(uid)})` : `Acpi(${hex(hid)},${hex(uid)})`
    }
    if (type === 3 && subtype === 2) return `Scsi(${hex(r.u16('Pun'))},${hex(r.u16('Lun'))})`
    if (type === 3 && subtype === 5) return `USB(${hex(r.u8('Port'))},${hex(r.u8('Interface'))})`
    if (type === 3 && subtype === 0x12) return `Sata(${hex(r.u16('HBAPort'))},${hex(r.u16('PortMultiplier'))},${hex(r.u16('Lun'))})`
    if (type === 3 && subtype === 0x17) return `NVMe(${hex(r.u32('NamespaceId'))},${toHex(r.take(8, 'EUI-64'))})`
    if (type === 3 && subtype === 11) return `MAC(${toHex(r.take(6, 'MAC'))})`
    if (type === 4 && subtype === 1) {
      const part = r.u32('PartitionNumber')
      const start = r.u64('PartitionStart')
      const size = r.u64('PartitionSize')
      const sig = r.take(16, 'Signature')
      r.u8('MBRType')
      const sigType = r.u8('SignatureType')
      const id =
        sigType === 2
          ? `GPT,${formatGuid(sig)}`
          : sigType === 1
            ? `MBR,${hex(sig[0]! | (sig[1]! << 8) | (sig[2]! << 16) | (sig[3]! << 24))}`
            : `${sigType}`
      return `HD(${part},${id},${hex(start)},${hex(size)})`
    }
    if (type === 4 && subtype === 4) return decodeUtf16le(body)
    if (type === 4 && subtype === 6) return `FvFile(${formatGuid(r.take(16, 'GUID'))})`
    if (type === 4 && subtype === 7) return `Fv(${formatGuid(r.take(16, 'GUID'))})`
    if (type === 4 && subtype === 8) {
      r.u32('Reserved')
      return `Offset(${hex(r.u64('StartingOffset'))},${hex(r.u64('EndingOffset'))})`
    }
  } catch {
    // a node shorter than its type needs: print it raw
  }
  return `Path(${type},${subtype},${toHex(body)})`
}

/** The text of every instance of a device path, instances joined by `,`; throws ERR_EVENTLOG_EVENT_DATA when nodes do not frame. */
export function formatDevicePath(bytes: Uint8Array): string {
  const r = leReader(bytes, 'device path')
  const parts: string[] = []
  let out = ''
  for (let n = 0; r.remaining > 0; n++) {
    if (n >= MAX_NODES) throw r.error(`more than ${MAX_NODES} nodes`)
    const type = r.u8('Type')
    const subtype = r.u8('SubType')
    const length = r.u16('Length')
    if (length < 4) throw r.error(`node length ${length} below 4 at offset ${r.offset - 4}`)
    const body = r.take(length - 4, 'node')
    if (type === 0x7f) {
      parts.push(out)
      out = ''
      if (subtype === 0xff) break
      continue
    }
    const text = node(type, subtype, body)
    out += out ? `/${text}` : text
  }
  if (out) parts.push(out)
  return parts.join(',')
}

/** UEFI_IMAGE_LOAD_EVENT (TCG PC Client PFP §10.4.7.2) of EV_EFI_BOOT_SERVICES_APPLICATION/_DRIVER events. */
export interface UefiImageLoadEvent {
  readonly imageLocationInMemory: bigint
  readonly imageLengthInMemory: bigint
  readonly imageLinkTimeAddress: bigint
  /** text form; empty when the firmware logged no path */
  readonly devicePath: string
}

export function parseUefiImageLoadEvent(bytes: Uint8Array): UefiImageLoadEvent {
  const r = leReader(bytes, 'UEFI_IMAGE_LOAD_EVENT')
  const imageLocationInMemory = r.u64('ImageLocationInMemory')
  const imageLengthInMemory = r.u64('ImageLengthInMemory')
  const imageLinkTimeAddress = r.u64('ImageLinkTimeAddress')
  const length = u64Size(r, 'LengthOfDevicePath', bytes.length)
  const devicePath = formatDevicePath(r.take(length, 'DevicePath'))
  return { imageLocationInMemory, imageLengthInMemory, imageLinkTimeAddress, devicePath }
}
