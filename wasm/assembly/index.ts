// The exported ABI of vouch's kernels (wasm/load.ts is its one caller). Inputs are written by the caller into
// the region returned by scratch(size); outputs are read from the returned pointers.
export { scratch } from './memory'
export { sha256, sha256Init, sha256Update, sha256Final } from './sha256'
export { sha1 } from './sha1'
export { hmacSha256 } from './hmac'
