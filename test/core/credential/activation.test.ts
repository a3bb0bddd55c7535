import { describe, expect, it } from 'vitest'
import { checkActivatedSecret } from '../../../core/credential/activation.ts'
import { CREDENTIAL_SECRET_MISMATCH } from '../../../core/messages.ts'
import { CredentialError } from '../../../core/errors.ts'
import { defaultPlatform, withPlatform } from '../../../core/platform.ts'
import type { Kernels } from '../../../core/kernels/types.ts'

const secret = new Uint8Array(32).map((_, i) => i * 13 + 1)

function mismatch(fn: () => void): CredentialError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialError)
    return e as CredentialError
  }
  throw new Error('expected a mismatch')
}

describe('checkActivatedSecret', () => {
  it('accepts the identical secret (a copy, not the same object)', () => {
    expect(() => checkActivatedSecret(secret, secret.slice())).not.toThrow()
  })

  it('rejects a secret differing in the first, a middle or the last byte with the exact message and no secret in it', () => {
    for (const i of [0, 16, 31]) {
      const other = secret.slice()
      other[i]! ^= 0x80
      const e = mismatch(() => checkActivatedSecret(secret, other))
      expect(e.code).toBe('ERR_CREDENTIAL_MISMATCH')
      expect(e.message).toBe('credential activation secret does not match')
      expect(e.message).toBe(CREDENTIAL_SECRET_MISMATCH)
      expect(JSON.stringify(e.toJSON())).not.toMatch(/[0-9a-f]{16}/)
    }
  })

  it('rejects shorter, longer and empty answers without calling the kernel (lengths are public)', () => {
    let calls = 0
    const kernels: Kernels = {
      ...defaultPlatform().kernels,
      timingSafeEqual: (a, b) => (calls++, defaultPlatform().kernels.timingSafeEqual(a, b)),
    }
    const platform = withPlatform({ kernels })
    for (const other of [secret.subarray(0, 31), new Uint8Array([...secret, 0]), new Uint8Array(0)]) {
      const e = mismatch(() => checkActivatedSecret(secret, other, platform))
      expect(e.detail).toEqual({ expectedLength: 32, presentedLength: other.length })
    }
    expect(calls).toBe(0)
    checkActivatedSecret(secret, secret.slice(), platform)
    expect(calls).toBe(1)
  })

  it('compares through platform.kernels.timingSafeEqual (the constant-time kernel decides)', () => {
    const lying = withPlatform({ kernels: { ...defaultPlatform().kernels, timingSafeEqual: () => false } })
    expect(() => checkActivatedSecret(secret, secret.slice(), lying)).toThrow(CredentialError)
  })

  it('refuses an empty expected secret as caller misuse', () => {
    expect(() => checkActivatedSecret(new Uint8Array(0), new Uint8Array(0))).toThrow(RangeError)
  })
})
