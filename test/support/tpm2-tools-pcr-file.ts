// Reads the PCR values out of tpm2-tools' private PCR file (`tpm2_quote -o`, the default
// "serialized" format): raw little-endian C structs. TPML_PCR_SELECTION = u32 count + 16 x
// {u16 hash, u8 sizeofSelect, u8 pcrSelect[4], pad} (132 bytes), then u32 number of TPML_DIGEST,
// then each TPML_DIGEST = u32 count + 8 x {u16 size, u8 buffer[64]} (532 bytes). Test-only: vouch
// takes PCR values as plain digests (`-F values`), never this format.
export function readTpm2ToolsPcrFile(bytes: Uint8Array): Uint8Array[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let o = 132
  const lists = v.getUint32(o, true)
  o += 4
  const out: Uint8Array[] = []
  for (let l = 0; l < lists; l++) {
    const count = v.getUint32(o, true)
    for (let i = 0; i < count; i++) {
      const at = o + 4 + i * 66
      const size = v.getUint16(at, true)
      out.push(bytes.slice(at + 2, at + 2 + size))
    }
    o += 532
  }
  return out
}
