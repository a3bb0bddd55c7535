// SHA-1 (FIPS 180-4 §6.1), one-shot over linear memory; only for certificate fingerprints
// (SPIRE's agent IDs and selectors), never for security decisions. Digest written to SHA1_OUT.

const W: usize = memory.data(320)
const H: usize = memory.data(20)
const BUF: usize = memory.data(64)
export const SHA1_OUT: usize = memory.data(20)

function compress(p: usize): void {
  for (let i: usize = 0; i < 16; i++) store<u32>(W + (i << 2), bswap<u32>(load<u32>(p + (i << 2))))
  for (let i: usize = 16; i < 80; i++) {
    const x =
      load<u32>(W + ((i - 3) << 2)) ^ load<u32>(W + ((i - 8) << 2)) ^ load<u32>(W + ((i - 14) << 2)) ^ load<u32>(W + ((i - 16) << 2))
    store<u32>(W + (i << 2), rotl<u32>(x, 1))
  }
  let a = load<u32>(H),
    b = load<u32>(H, 4),
    c = load<u32>(H, 8),
    d = load<u32>(H, 12),
    e = load<u32>(H, 16)
  for (let i: usize = 0; i < 80; i++) {
    let f: u32, k: u32
    if (i < 20) {
      f = (b & c) | (~b & d)
      k = 0x5a827999
    } else if (i < 40) {
      f = b ^ c ^ d
      k = 0x6ed9eba1
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d)
      k = 0x8f1bbcdc
    } else {
      f = b ^ c ^ d
      k = 0xca62c1d6
    }
    const t = rotl<u32>(a, 5) + f + e + k + load<u32>(W + (i << 2))
    e = d
    d = c
    c = rotl<u32>(b, 30)
    b = a
    a = t
  }
  store<u32>(H, load<u32>(H) + a)
  store<u32>(H, load<u32>(H, 4) + b, 4)
  store<u32>(H, load<u32>(H, 8) + c, 8)
  store<u32>(H, load<u32>(H, 12) + d, 12)
  store<u32>(H, load<u32>(H, 16) + e, 16)
}

export function sha1(ptr: usize, len: u32): usize {
  store<u32>(H, 0x67452301)
  store<u32>(H, 0xefcdab89, 4)
  store<u32>(H, 0x98badcfe, 8)
  store<u32>(H, 0x10325476, 12)
  store<u32>(H, 0xc3d2e1f0, 16)
  let off: u32 = 0
  while (len - off >= 64) {
    compress(ptr + off)
    off += 64
  }
  const rest = len - off
  memory.fill(BUF, 0, 64)
  memory.copy(BUF, ptr + off, rest)
  store<u8>(BUF + rest, 0x80)
  if (rest >= 56) {
    compress(BUF)
    memory.fill(BUF, 0, 64)
  }
  store<u64>(BUF + 56, bswap<u64>((<u64>len) << 3))
  compress(BUF)
  for (let i: usize = 0; i < 5; i++) store<u32>(SHA1_OUT + (i << 2), bswap<u32>(load<u32>(H + (i << 2))))
  return SHA1_OUT
}
