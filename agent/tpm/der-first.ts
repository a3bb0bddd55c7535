// Keep only the first DER element of an NV read (some TPMs pad the EK certificate index; spec §7 step 7).
export function fromDer(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x30) throw new Error('EK certificate NV data is not a DER SEQUENCE')
  let len = bytes[1]!
  let off = 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || bytes.length < 2 + n) throw new Error('EK certificate NV data has a bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + bytes[2 + i]!
    off = 2 + n
  }
  if (off + len > bytes.length) throw new Error(`EK certificate NV data is truncated: DER says ${off + len} bytes, index holds ${bytes.length}`)
  return bytes.slice(0, off + len)
}
