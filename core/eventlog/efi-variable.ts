// UEFI_VARIABLE_DATA (TCG PC Client PFP §10.4.7.5): the data of EV_EFI_VARIABLE_DRIVER_CONFIG,
// _BOOT, _BOOT2 and _AUTHORITY events.
import { formatGuid } from './guid.ts'
import { leReader, u64Size } from './le-reader.ts'
import { decodeUtf16le } from './text.ts'

export interface UefiVariableData {
  /** VariableName GUID, e.g. 8be4df61-... for EFI_GLOBAL_VARIABLE */
  readonly guid: string
  /** UnicodeName, e.g. `SecureBoot`, `db`, `Boot0001` */
  readonly name: string
  readonly data: Uint8Array
}

export function parseUefiVariableData(bytes: Uint8Array, options: { allowTrailingZeros?: boolean } = {}): UefiVariableData {
  const r = leReader(bytes, 'UEFI_VARIABLE_DATA')
  const guid = formatGuid(r.take(16, 'VariableName'))
  const nameLength = u64Size(r, 'UnicodeNameLength', bytes.length)
  const dataLength = u64Size(r, 'VariableDataLength', bytes.length)
  const name = decodeUtf16le(r.take(nameLength * 2, 'UnicodeName'))
  const data = r.take(dataLength, 'VariableData')
  if (!(options.allowTrailingZeros && bytes.subarray(r.offset).every((b) => b === 0))) r.expectEnd()
  return { guid, name, data }
}

/** EFI_LOAD_OPTION (UEFI 2.10 §3.1.3) of a Boot#### variable: attributes, description, device path. */
export interface EfiLoadOption {
  readonly attributes: number
  readonly description: string
  readonly filePathList: Uint8Array
}

export function parseEfiLoadOption(bytes: Uint8Array): EfiLoadOption {
  const r = leReader(bytes, 'EFI_LOAD_OPTION')
  const attributes = r.u32('Attributes')
  const pathLength = r.u16('FilePathListLength')
  let end = r.offset
  while (end + 1 < bytes.length && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2
  const description = decodeUtf16le(r.take(end - r.offset, 'Description'))
  r.take(Math.min(2, r.remaining), 'Description NUL')
  const filePathList = r.take(pathLength, 'FilePathList')
  return { attributes, description, filePathList }
}
