/**
 * Public-key validation for the NIST prime curves (SEC 1 v2 §3.2.2.1, NIST SP 800-56A §5.6.2.3.3):
 * both coordinates in [0, p) and y^2 = x^3 - 3x + b (mod p). The curves have cofactor 1, so a
 * point on the curve is in the prime-order group; an uncompressed point cannot be the point at
 * infinity. This is what a Web Crypto or OpenSSL import checks, without a key import (which costs
 * 100-350 µs on Node 20).
 */
import type { EcPublicKey, NamedCurve } from './provider.ts'

const CURVES: Record<NamedCurve, { p: bigint; b: bigint }> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  'P-521': {
    p: (1n << 521n) - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
}

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n
  for (let i = 0; i < bytes.length; i++) v = (v << 8n) | BigInt(bytes[i]!)
  return v
}

/** True when (x, y) is a point of the key's curve. */
export function isOnCurve(key: EcPublicKey): boolean {
  const curve = CURVES[key.crv]
  if (!curve) return false
  const { p, b } = curve
  const x = toBigInt(key.x)
  const y = toBigInt(key.y)
  if (x >= p || y >= p) return false
  const rhs = (((x * x) % p) * x - 3n * x + b) % p
  return (y * y) % p === (rhs + p) % p
}
