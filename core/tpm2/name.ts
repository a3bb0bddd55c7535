// Object Names (Part 1 §16): nameAlg (u16) || H_nameAlg(TPMT_PUBLIC), over the bytes as received.
import { ByteWriter } from '../bytes/writer.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { tpmHashToWebCrypto } from './constants.ts'
import type { TPMT_PUBLIC } from './public.ts'

// Names by parsed object: a TPMT_PUBLIC is immutable and its Name depends on nothing else, so a key
// parsed once (core/attestation/tpm-key-cache.ts) is hashed once. Callers get a copy.
const nameOfPublic = new WeakMap<TPMT_PUBLIC, Uint8Array<ArrayBuffer>>()

export async function computeName(pub: TPMT_PUBLIC, platform: Platform = defaultPlatform()): Promise<Uint8Array<ArrayBuffer>> {
  const known = nameOfPublic.get(pub)
  if (known !== undefined) return known.slice()
  const hash = tpmHashToWebCrypto(pub.nameAlg)!
  const digest = await platform.crypto.digest(hash, pub.raw)
  const name = new ByteWriter(2 + digest.length).u16(pub.nameAlg).bytes(digest).finish()
  nameOfPublic.set(pub, name)
  return name.slice()
}

/** The Name of a permanent handle (a hierarchy): its 4-byte handle value. */
export function handleName(handle: number): Uint8Array<ArrayBuffer> {
  return new ByteWriter(4).u32(handle).finish()
}
