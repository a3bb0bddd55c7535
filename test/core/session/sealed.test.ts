import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toBase64Url, fromBase64Url } from '../../../core/bytes/encoding.ts'
import { AttestationError, type VerifyError } from '../../../core/errors.ts'
import { SESSION_EXPIRED, SESSION_KEY_RETIRED, UNKNOWN_SESSION } from '../../../core/messages.ts'
import { defaultPlatform, type Platform } from '../../../core/platform.ts'
import {
  isWellFormedSealedToken,
  makeRandomSessionKeyring,
  makeSessionKeyring,
  MAX_SEALED_TOKEN_CHARS,
  openSession,
  sealSession,
} from '../../../core/session/sealed.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'

const platform: Platform = defaultPlatform()
const key = (b: number) => new Uint8Array(32).fill(b)
const ringA = makeSessionKeyring([{ id: 'a', key: key(1), seal: true }])
const value = { v: 1, secret: 'activation-secret', nested: { list: [1, 2, 3] } }

async function refusedWith(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(AttestationError)
    return { code: (e as VerifyError).code, message: (e as Error).message }
  }
  throw new Error('expected a refusal')
}

describe('sealed sessions', () => {
  it('round trip: the value, the expiry, the key id and a use-once id come back', async () => {
    const token = await sealSession(value, 1_700_000_000_123, ringA, platform)
    expect(isWellFormedSealedToken(token)).toBe(true)
    const opened = await openSession(token, ringA, platform, 1_700_000_000_000)
    expect(opened.value).toEqual(value)
    expect(opened.expiresAt).toBe(1_700_000_000_123)
    expect(opened.keyId).toBe('a')
    expect(opened.useOnceId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    // the agent cannot read the secret
    expect(new TextDecoder().decode(fromBase64Url(token))).not.toContain('activation-secret')
    // two seals of one value differ (fresh IV, fresh use-once id)
    const again = await openSession(await sealSession(value, 1_700_000_000_123, ringA, platform), ringA, platform)
    expect(again.useOnceId).not.toBe(opened.useOnceId)
  })

  it('every byte flipped: refused as unknown session', async () => {
    const token = await sealSession({ s: 'x' }, 2_000_000_000_000, ringA, platform)
    const bytes = fromBase64Url(token)
    for (let i = 0; i < bytes.length; i++) {
      const t = bytes.slice()
      t[i]! ^= 0x01
      const r = await refusedWith(openSession(toBase64Url(t), ringA, platform, 0))
      expect(r).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
    }
  })

  it('a key the keyring does not hold, or a different key under the same id: unknown session', async () => {
    const token = await sealSession(value, 2_000_000_000_000, ringA, platform)
    const other = makeSessionKeyring([{ id: 'b', key: key(1), seal: true }])
    expect(await refusedWith(openSession(token, other, platform))).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
    const sameIdOtherKey = makeSessionKeyring([{ id: 'a', key: key(2), seal: true }])
    expect(await refusedWith(openSession(token, sameIdOtherKey, platform))).toEqual({
      code: 'ERR_SESSION_UNKNOWN',
      message: UNKNOWN_SESSION,
    })
  })

  it('rotation: old key still opens while listed; retired, its sessions get their own message', async () => {
    const token = await sealSession(value, 2_000_000_000_000, ringA, platform)
    const rotated = makeSessionKeyring([
      { id: 'b', key: key(2), seal: true },
      { id: 'a', key: key(1) },
    ])
    expect((await openSession(token, rotated, platform)).value).toEqual(value)
    expect((await openSession(await sealSession(value, 2_000_000_000_000, rotated, platform), rotated, platform)).keyId).toBe('b')
    const retired = makeSessionKeyring([
      { id: 'b', key: key(2), seal: true },
      { id: 'a', key: key(1), retired: true },
    ])
    expect(await refusedWith(openSession(token, retired, platform))).toEqual({
      code: 'ERR_SESSION_KEY_RETIRED',
      message: SESSION_KEY_RETIRED,
    })
    // a forged token naming the retired key does not get the retired message: it must authenticate first
    const forged = fromBase64Url(token)
    forged[forged.length - 1]! ^= 1
    expect((await refusedWith(openSession(toBase64Url(forged), retired, platform))).code).toBe('ERR_SESSION_UNKNOWN')
  })

  it('expired at `now`: the seed message', async () => {
    const token = await sealSession(value, 1000, ringA, platform)
    expect((await openSession(token, ringA, platform, 1000)).expiresAt).toBe(1000)
    expect(await refusedWith(openSession(token, ringA, platform, 1001))).toEqual({ code: 'ERR_SESSION_EXPIRED', message: SESSION_EXPIRED })
  })

  it('keyrings: exactly one sealing key, 32-byte keys, unique ids', () => {
    expect(() => makeSessionKeyring([{ id: 'a', key: key(1) }])).toThrow(/exactly one/)
    expect(() =>
      makeSessionKeyring([
        { id: 'a', key: key(1), seal: true },
        { id: 'b', key: key(1), seal: true },
      ]),
    ).toThrow(/exactly one/)
    expect(() => makeSessionKeyring([{ id: 'a', key: new Uint8Array(16), seal: true }])).toThrow(/32 bytes/)
    expect(() =>
      makeSessionKeyring([
        { id: 'a', key: key(1), seal: true },
        { id: 'a', key: key(2) },
      ]),
    ).toThrow(/duplicate/)
    expect(() => makeSessionKeyring([{ id: 'bad id', key: key(1), seal: true }])).toThrow(/id/)
    expect(() => makeSessionKeyring([{ id: 'a', key: key(1), seal: true, retired: true }])).toThrow(/retired/)
    const r = makeRandomSessionKeyring(platform)
    expect(r.sealKey.key.length).toBe(32)
  })

  it('an oversized token is refused by shape, before any decoding', async () => {
    const long = 'A'.repeat(MAX_SEALED_TOKEN_CHARS + 1)
    expect(isWellFormedSealedToken(long)).toBe(false)
    expect((await refusedWith(openSession(long, ringA, platform))).code).toBe('ERR_SESSION_UNKNOWN')
  })

  it('property: any string or any bytes -> unknown session, never anything else (10,000 runs)', async () => {
    const genuine = fromBase64Url(await sealSession(value, 2_000_000_000_000, ringA, platform))
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 400 }).map(toBase64Url),
          // genuine header, random rest: reaches the decryption
          fc.uint8Array({ minLength: 0, maxLength: 200 }).map((tail) => {
            const t = new Uint8Array(genuine.length)
            t.set(genuine.subarray(0, 28))
            t.set(tail.subarray(0, t.length - 28), 28)
            return toBase64Url(t)
          }),
        ),
        async (token) => {
          const r = await refusedWith(openSession(token, ringA, platform, 0))
          expect(r).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
        },
      ),
      { numRuns: 10_000 },
    )
  })

  it("a platform's base64url fast path (Node's Buffer) seals and opens as core does; a token spelt another way is refused", async () => {
    const node = createNodePlatform()
    expect(node.decodeBase64Url).toBeDefined()
    const token = await sealSession(value, 2_000_000_000_000, ringA, node)
    expect((await openSession(token, ringA, platform)).value).toEqual(value)
    const viaCore = await sealSession(value, 2_000_000_000_000, ringA, platform)
    const opened = await openSession(viaCore, ringA, node)
    expect(opened.value).toEqual(value)
    expect(opened.useOnceId).toBe((await openSession(viaCore, ringA, platform)).useOnceId)
    // the last character's lowest bit flipped (an unused bit when the length is not a multiple of 4),
    // padded, in the standard alphabet, with a space
    const bent = [
      token.slice(0, -1) + String.fromCharCode(token.charCodeAt(token.length - 1) ^ 1),
      `${token}=`,
      token.replaceAll('-', '+').replaceAll('_', '/'),
      `${token.slice(0, 100)} ${token.slice(100)}`,
    ]
    for (const t of bent) {
      if (t === token) continue
      for (const p of [node, platform])
        expect(await refusedWith(openSession(t, ringA, p))).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
    }
  })

  it('property: a genuine token with one character changed to any other (outside the alphabet too) -> unknown session on both decoders (10,000 runs)', async () => {
    const node = createNodePlatform()
    const token = await sealSession(value, 2_000_000_000_000, ringA, platform)
    const other = fc.oneof(
      fc.constantFrom(' ', '+', '/', '=', '.', '\0', '\n', 'é', '\u0100', '\u{1F600}', 'A', '_', '-'),
      fc.string({ minLength: 1, maxLength: 2 }),
    )
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), other, async (at, ch) => {
        const bent = token.slice(0, at) + ch + token.slice(at + 1)
        fc.pre(bent !== token)
        for (const p of [node, platform])
          expect(await refusedWith(openSession(bent, ringA, p, 0))).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
      }),
      { numRuns: 10_000 },
    )
  })

  it("a character beyond ASCII whose low byte is an alphabet character (Buffer's decoder reads only that byte) -> unknown session on both decoders", async () => {
    const node = createNodePlatform()
    const token = await sealSession(value, 2_000_000_000_000, ringA, platform)
    // U+0100 + c, U+FF00 + c: Node 20's Buffer decodes them as c; a surrogate pair around c too
    for (const at of [0, 1, 100, token.length - 2])
      for (const ch of [String.fromCharCode(0x100 + token.charCodeAt(at)), String.fromCharCode(0xff00 + token.charCodeAt(at))]) {
        const bent = token.slice(0, at) + ch + token.slice(at + 1)
        for (const p of [node, platform])
          expect(await refusedWith(openSession(bent, ringA, p, 0)), `${at} U+${ch.charCodeAt(0).toString(16)}`).toEqual({
            code: 'ERR_SESSION_UNKNOWN',
            message: UNKNOWN_SESSION,
          })
      }
  })

  it('property on the Node platform: any string or any bytes -> unknown session (10,000 runs)', async () => {
    const node = createNodePlatform()
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 400 }).map(toBase64Url)), async (token) => {
        const r = await refusedWith(openSession(token, ringA, node, 0))
        expect(r).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
      }),
      { numRuns: 10_000 },
    )
  })
})
