// HMAC-SHA256 (RFC 2104) on the streaming SHA-256. Result written to HMAC_OUT.
import { sha256, sha256Final, sha256Init, sha256Update } from './sha256'

const PAD: usize = memory.data(64)
const KEY: usize = memory.data(64)
const INNER: usize = memory.data(32)
export const HMAC_OUT: usize = memory.data(32)

export function hmacSha256(keyPtr: usize, keyLen: u32, msgPtr: usize, msgLen: u32): usize {
  memory.fill(KEY, 0, 64)
  if (keyLen > 64) memory.copy(KEY, sha256(keyPtr, keyLen), 32)
  else memory.copy(KEY, keyPtr, keyLen)
  for (let i: usize = 0; i < 64; i++) store<u8>(PAD + i, load<u8>(KEY + i) ^ 0x36)
  sha256Init()
  sha256Update(PAD, 64)
  sha256Update(msgPtr, msgLen)
  memory.copy(INNER, sha256Final(), 32)
  for (let i: usize = 0; i < 64; i++) store<u8>(PAD + i, load<u8>(KEY + i) ^ 0x5c)
  sha256Init()
  sha256Update(PAD, 64)
  sha256Update(INNER, 32)
  memory.copy(HMAC_OUT, sha256Final(), 32)
  return HMAC_OUT
}
