// EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): the content of PK, KEK, db and dbx, and (as one
// EFI_SIGNATURE_DATA) of an EV_EFI_VARIABLE_AUTHORITY event.
import { formatGuid, GUID, sameGuid } from './guid.ts'
import { leReader } from './le-reader.ts'

export interface EfiSignatureData {
  /** SignatureType GUID of the list */
  readonly type: string
  /** `x509`, `sha256`, ... or `other` */
  readonly kind: 'x509' | 'sha256' | 'sha1' | 'sha384' | 'sha512' | 'x509-sha256' | 'other'
  readonly owner: string
  /** a DER certificate for x509, a digest for the hash kinds */
  readonly data: Uint8Array
}

const KINDS: Readonly<Record<string, EfiSignatureData['kind']>> = {
  [GUID.CERT_X509]: 'x509',
  [GUID.CERT_SHA256]: 'sha256',
  [GUID.CERT_SHA1]: 'sha1',
  [GUID.CERT_SHA384]: 'sha384',
  [GUID.CERT_SHA512]: 'sha512',
  [GUID.CERT_X509_SHA256]: 'x509-sha256',
}

/** One EFI_SIGNATURE_LIST, located: its signatures are `count` records of `signatureSize` bytes from `first`. */
export interface EfiSignatureListSpan {
  readonly type: string
  readonly kind: EfiSignatureData['kind']
  /** offset of the first EFI_SIGNATURE_DATA (owner GUID, then data) in the bytes */
  readonly first: number
  readonly count: number
  readonly signatureSize: number
}

/**
 * The EFI_SIGNATURE_LISTs of a variable, checked and located but not copied out: a dbx's hundreds
 * of hashes are then read in place (every record lies within the bytes).
 */
export function locateEfiSignatureLists(bytes: Uint8Array, maxEntries = 100000): EfiSignatureListSpan[] {
  const r = leReader(bytes, 'EFI_SIGNATURE_LIST')
  const out: EfiSignatureListSpan[] = []
  let entries = 0
  while (r.remaining > 0) {
    const start = r.offset
    const type = formatGuid(r.take(16, 'SignatureType'))
    const listSize = r.u32('SignatureListSize')
    const headerSize = r.u32('SignatureHeaderSize')
    const signatureSize = r.u32('SignatureSize')
    if (listSize < 28 || listSize - 28 > r.remaining) throw r.error(`SignatureListSize ${listSize} at offset ${start} does not fit`, start)
    if (signatureSize < 16) throw r.error(`SignatureSize ${signatureSize} at offset ${start} is below 16`, start)
    const body = listSize - 28
    if (headerSize > body || (body - headerSize) % signatureSize !== 0) {
      throw r.error(`SignatureListSize ${listSize} at offset ${start} is not header + n * SignatureSize ${signatureSize}`, start)
    }
    r.take(headerSize, 'SignatureHeader')
    const count = (body - headerSize) / signatureSize
    if (entries + count > maxEntries) throw r.error(`more than ${maxEntries} signatures`, start)
    entries += count
    out.push({ type, kind: KINDS[type] ?? 'other', first: r.offset, count, signatureSize })
    r.take(count * signatureSize, 'EFI_SIGNATURE_DATA')
  }
  return out
}

/** Every EFI_SIGNATURE_DATA of a concatenation of EFI_SIGNATURE_LISTs (an empty variable is no lists). */
export function parseEfiSignatureLists(bytes: Uint8Array, maxEntries = 100000): EfiSignatureData[] {
  const out: EfiSignatureData[] = []
  // a dbx's hundreds of entries of one owner format that GUID once
  let owner = ''
  let ownerAt = -1
  for (const { type, kind, first, count, signatureSize } of locateEfiSignatureLists(bytes, maxEntries)) {
    for (let i = 0; i < count; i++) {
      const at = first + i * signatureSize
      if (ownerAt < 0 || !sameGuid(bytes, ownerAt, at)) {
        owner = formatGuid(bytes, at)
        ownerAt = at
      }
      out.push({ type, kind, owner, data: bytes.subarray(at + 16, at + signatureSize) })
    }
  }
  return out
}

/** One EFI_SIGNATURE_DATA without its list (EV_EFI_VARIABLE_AUTHORITY for db): owner GUID then data. */
export function parseEfiSignatureData(bytes: Uint8Array): { owner: string; data: Uint8Array } {
  const r = leReader(bytes, 'EFI_SIGNATURE_DATA')
  const owner = formatGuid(r.take(16, 'SignatureOwner'))
  return { owner, data: r.take(r.remaining, 'SignatureData') }
}
