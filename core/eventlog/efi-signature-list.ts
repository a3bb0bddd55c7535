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

/** Every EFI_SIGNATURE_DATA of a concatenation of EFI_SIGNATURE_LISTs (an empty variable is no lists). */
export function parseEfiSignatureLists(bytes: Uint8Array, maxEntries = 100000): EfiSignatureData[] {
  const r = leReader(bytes, 'EFI_SIGNATURE_LIST')
  const out: EfiSignatureData[] = []
  let owner = ''
  let ownerAt = -1
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
    if (out.length + count > maxEntries) throw r.error(`more than ${maxEntries} signatures`, start)
    const kind = KINDS[type] ?? 'other'
    // the list's signatures lie within the bytes (SignatureListSize was checked against them):
    // read in place, and a dbx's hundreds of entries of one owner format that GUID once
    const first = r.offset
    for (let i = 0; i < count; i++) {
      const at = first + i * signatureSize
      if (ownerAt < 0 || !sameGuid(bytes, ownerAt, at)) {
        owner = formatGuid(bytes, at)
        ownerAt = at
      }
      out.push({ type, kind, owner, data: bytes.subarray(at + 16, at + signatureSize) })
    }
    r.take(count * signatureSize, 'EFI_SIGNATURE_DATA')
  }
  return out
}

/** One EFI_SIGNATURE_DATA without its list (EV_EFI_VARIABLE_AUTHORITY for db): owner GUID then data. */
export function parseEfiSignatureData(bytes: Uint8Array): { owner: string; data: Uint8Array } {
  const r = leReader(bytes, 'EFI_SIGNATURE_DATA')
  const owner = formatGuid(r.take(16, 'SignatureOwner'))
  return { owner, data: r.take(r.remaining, 'SignatureData') }
}
