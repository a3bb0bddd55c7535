// Object Names (Part 1 §16): nameAlg (u16) || H_nameAlg(TPMT_PUBLIC), over the bytes as received.
import { ByteWriter } from '../bytes/writer.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { tpmHashToWebCrypto } from './constants.ts'
import type { TPMT_PUBLIC } from './public.ts'

export async function computeName(pub: TPMT_PUBLIC, platform: Platform = defaultPlatform()): Promise<Uint8Array<ArrayBuffer>> {
  const hash = tpmHashToWebCrypto(pub.nameAlg)!
  const digest = await platform.crypto.digest(hash, pub.raw)
  return new ByteWriter(2 + digest.length).u16(pub.nameAlg).bytes(digest).finish()
}

/** The Name of a permanent handle (a hierarchy): its 4-byte handle value. */
export function handleName(handle: number): Uint8Array<ArrayBuffer> {
  return new ByteWriter(4).u32(handle).finish()
}
