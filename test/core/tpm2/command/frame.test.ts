// Framing: encodings checked against hand-assembled bytes (toolchain-lab §8 GetRandom / Certify) and a
// property test: decoders on mutated real responses give a result or a VerifyError, never another exception.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as cmd from '../../../../core/tpm2/command/index.ts'
import { toHex, fromHex } from '../../../../core/bytes/encoding.ts'
import { VerifyError } from '../../../../core/errors.ts'

describe('command framing', () => {
  it('GetRandom(16) is 80010000000c0000017b0010', () => {
    expect(toHex(cmd.getRandom(16).bytes)).toBe('80010000000c0000017b0010')
  })
  it('FlushContext carries the handle as a parameter', () => {
    expect(toHex(cmd.flushContext(0x80000001).bytes)).toBe('80010000000e0000016580000001')
  })
  it('a password session is 40000009 0000 01 <u16 len> <password>', () => {
    const b = cmd.nvRead(0x01c00002, 0x01c00002, cmd.passwordAuth('ab'), 16, 0).bytes
    expect(toHex(b)).toBe('800200000025' + '0000014e' + '01c0000201c00002' + '0000000b' + '40000009000001' + '00026162' + '00100000')
  })
  it('decodes GetRandom responses and names error codes', () => {
    const c = cmd.getRandom(4)
    expect(c.decode(fromHex('80010000001000000000000401020304'))).toEqual(new Uint8Array([1, 2, 3, 4]))
    expect(() => c.decode(fromHex('80010000000a00000922'))).toThrow(/TPM2_GetRandom failed: TPM_RC_RETRY/)
    expect(() => c.decode(fromHex('80010000001100000000000401020304'))).toThrow(VerifyError)
    expect(() => c.decode(fromHex('8001000000110000000000040102030405'))).toThrow(/trailing|bytes follow|end/i)
  })
  it('strips a TPM2B prefix only when it matches the remaining length', () => {
    expect(cmd.stripTpm2bPrefix(fromHex('0003aabbcc'))).toEqual(fromHex('aabbcc'))
    expect(cmd.stripTpm2bPrefix(fromHex('0023000b'))).toEqual(fromHex('0023000b'))
  })
})

// A real NV_ReadPublic and ReadPublic response shape (built from the encoders' own field order)
const samples: [cmd.TpmCommand<unknown>, Uint8Array][] = [
  [
    cmd.nvReadPublic(0x01c00002),
    fromHex(
      '80010000002c00000000000e01c00002000b420a0004000004e4002201c00002aaaa000000000000000000000000000000000000000000000000000000000000'.slice(
        0,
        2 * 44,
      ),
    ),
  ],
  [cmd.getRandom(4), fromHex('80010000001000000000000401020304')],
  [cmd.getCapability(6, 0x100, 1), fromHex('80010000001b000000000000000006000000010000010032e3000000'.slice(0, 54))],
]

describe('decoders never throw anything but VerifyError', () => {
  it('on truncated / extended / mutated responses (10,000 runs)', () => {
    fc.assert(
      fc.property(
        fc.nat(samples.length - 1),
        fc.uint8Array({ maxLength: 8 }),
        fc.nat(64),
        fc.nat(255),
        fc.nat(80),
        (i, tail, pos, val, cut) => {
          const [c, base] = samples[i]!
          const b = new Uint8Array([...base.subarray(0, Math.max(0, base.length - (cut % 8 === 0 ? cut % 20 : 0))), ...tail])
          if (pos < b.length) b[pos] = val
          try {
            c.decode(b)
          } catch (e) {
            if (!(e instanceof VerifyError)) throw e
          }
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
