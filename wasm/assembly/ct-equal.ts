// Constant-time equality: OR of XORs over the whole length, no data-dependent branch.
export function ctEqual(a: usize, b: usize, len: u32): i32 {
  let diff: u32 = 0
  for (let i: usize = 0; i < <usize>len; i++) diff |= <u32>(load<u8>(a + i) ^ load<u8>(b + i))
  return i32(diff == 0)
}
