// SHA-1 (FIPS 180-4 §6.1) in plain JavaScript: the JS twin of wasm/assembly/sha1.ts. Used only
// for certificate fingerprints (SPIRE agent IDs and selectors), never for a security decision.

const W = new Uint32Array(80)

export function sha1(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0])
  const len = data.length
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6)
  padded.set(data)
  padded[len] = 0x80
  const v = new DataView(padded.buffer)
  v.setUint32(padded.length - 8, Math.floor(len / 0x20000000))
  v.setUint32(padded.length - 4, (len << 3) >>> 0)
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) W[i] = v.getUint32(off + i * 4)
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3]! ^ W[i - 8]! ^ W[i - 14]! ^ W[i - 16]!
      W[i] = (x << 1) | (x >>> 31)
    }
    let a = h[0]!,
      b = h[1]!,
      c = h[2]!,
      d = h[3]!,
      e = h[4]!
    for (let i = 0; i < 80; i++) {
      const f = i < 20 ? (b & c) | (~b & d) : i < 40 ? b ^ c ^ d : i < 60 ? (b & c) | (b & d) | (c & d) : b ^ c ^ d
      const k = i < 20 ? 0x5a827999 : i < 40 ? 0x6ed9eba1 : i < 60 ? 0x8f1bbcdc : 0xca62c1d6
      const t = (((a << 5) | (a >>> 27)) + f + e + k + W[i]!) | 0
      e = d
      d = c
      c = (b << 30) | (b >>> 2)
      b = a
      a = t
    }
    h[0] = h[0]! + a
    h[1] = h[1]! + b
    h[2] = h[2]! + c
    h[3] = h[3]! + d
    h[4] = h[4]! + e
  }
  const out = new Uint8Array(20)
  const ov = new DataView(out.buffer)
  for (let i = 0; i < 5; i++) ov.setUint32(i * 4, h[i]!)
  return out
}
