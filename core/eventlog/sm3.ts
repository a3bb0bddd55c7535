// SM3 (GB/T 32905-2016, ISO/IEC 10118-3:2018), the hash of the SM3_256 PCR bank. Web Crypto has no
// SM3, so the bank is replayed with this small, synchronous implementation. Not constant-time and
// not for secrets: it only recomputes public PCR values.

const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e]

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0
const p0 = (x: number): number => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0
const p1 = (x: number): number => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0

export function sm3(data: Uint8Array): Uint8Array {
  // padding: 0x80, zeros, the bit length as a 64-bit big-endian integer
  const blocks = Math.ceil((data.length + 9) / 64)
  const m = new Uint8Array(blocks * 64)
  m.set(data)
  m[data.length] = 0x80
  const view = new DataView(m.buffer)
  view.setUint32(m.length - 8, Math.floor(data.length / 0x20000000))
  view.setUint32(m.length - 4, (data.length * 8) >>> 0)
  const v = IV.slice()
  const w = new Array<number>(68)
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < 16; j++) w[j] = view.getUint32(b * 64 + j * 4)
    for (let j = 16; j < 68; j++) w[j] = (p1(w[j - 16]! ^ w[j - 9]! ^ rotl(w[j - 3]!, 15)) ^ rotl(w[j - 13]!, 7) ^ w[j - 6]!) >>> 0
    let [a, bb, c, d, e, f, g, h] = v as [number, number, number, number, number, number, number, number]
    for (let j = 0; j < 64; j++) {
      const t = j < 16 ? 0x79cc4519 : 0x7a879d8a
      const a12 = rotl(a, 12)
      const ss1 = rotl((a12 + e + rotl(t, j % 32)) >>> 0, 7)
      const ss2 = (ss1 ^ a12) >>> 0
      const ff = j < 16 ? a ^ bb ^ c : (a & bb) | (a & c) | (bb & c)
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g)
      const tt1 = (ff + d + ss2 + (w[j]! ^ w[j + 4]!)) >>> 0
      const tt2 = (gg + h + ss1 + w[j]!) >>> 0
      d = c
      c = rotl(bb, 9)
      bb = a
      a = tt1
      h = g
      g = rotl(f, 19)
      f = e
      e = p0(tt2)
    }
    const next = [a, bb, c, d, e, f, g, h]
    for (let i = 0; i < 8; i++) v[i] = (v[i]! ^ next[i]!) >>> 0
  }
  const out = new Uint8Array(32)
  const ov = new DataView(out.buffer)
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, v[i]!)
  return out
}
