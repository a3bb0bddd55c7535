import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from '../../../core/bytes/encoding.ts'
import { decodeTpmDevidEvidence } from '../../../core/attestation/evidence.ts'
import {
  decodeBase64Canonical,
  decodeBase64UrlCanonical,
  encodeBase64Buffer,
  encodeBase64UrlBuffer,
} from '../../../runtimes/node/base64.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'

const core = (text: string) => {
  try {
    return fromBase64(text)
  } catch {
    return undefined
  }
}

/**
 * One character to bend a canonical encoding with: the alphabets' edges, padding, space, non-ASCII
 * (among them characters whose low byte is an alphabet character, which Node 20's Buffer decodes as that character).
 */
const ODD = fc.constantFrom(
  ...'AZaz09+/=-_ \n\t\r\0é\u0100\u{1F600}.*'.split(''),
  ...'\u0141\u017a\u0130\u012b\u012f\u013d\u012d\u015f\uff21\uff3a\uff5a\uff10'.split(''),
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split(''),
)
const BENDS = fc.constantFrom('replace', 'insert', 'delete')

/** `good` with one character replaced by, inserted as or deleted at `ch` / position `at`. */
function bend(good: string, at: number, ch: string, how: string): string {
  const i = good.length === 0 ? 0 : at % good.length
  if (how === 'replace') return good.slice(0, i) + ch + good.slice(i + 1)
  if (how === 'insert') return good.slice(0, i) + ch + good.slice(i)
  return good.slice(0, i) + good.slice(i + 1)
}

describe('Node base64 fast path (Platform.decodeBase64)', () => {
  it('accepts exactly what core accepts, with the same bytes (whitespace, base64url, missing or extra padding refused)', () => {
    const text = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\té'.split('')),
      maxLength: 48,
    })
    fc.assert(
      fc.property(text, (t) => {
        expect(decodeBase64Canonical(t)).toEqual(core(t))
      }),
      { numRuns: 20_000 },
    )
    for (const t of ['Zg', 'Zh==', 'Zg==\n', ' Zg==', 'Zm9v-_==', 'Zm9v/+==', 'Zg=', 'Zg===', '===='])
      expect(decodeBase64Canonical(t), t).toEqual(core(t))
  })

  it('agrees with core on canonical encodings bent by one character: replaced, inserted or deleted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), ODD, BENDS, (b, at, ch, how) => {
        const t = bend(toBase64(b), at, ch, how)
        expect(decodeBase64Canonical(t)).toEqual(core(t))
      }),
      { numRuns: 50_000 },
    )
  })

  it('decodes every canonical encoding of random bytes into a plain Uint8Array view of exactly those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (b) => {
        const out = decodeBase64Canonical(toBase64(b))!
        expect(out).toEqual(new Uint8Array(b))
        expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype)
        expect(new Uint8Array(out.buffer, out.byteOffset, out.length)).toEqual(new Uint8Array(b))
        expect(out.slice()).not.toBe(out)
      }),
      { numRuns: 1000 },
    )
  })

  it('evidence decodes the same with and without it, faults included', () => {
    const good = {
      DevIDCert: [toBase64(new Uint8Array(40).fill(1))],
      DevIDPub: 'AAEC',
      EKPub: 'AAEC',
      AKPub: 'AAEC',
      CertifiedDevID: 'AAEC',
      CertificationSignature: 'AAEC',
    }
    const outcome = (f: () => unknown) => {
      try {
        return { ok: f() }
      } catch (e) {
        return { error: `${(e as { code?: string }).code}: ${(e as Error).message}` }
      }
    }
    const node = createNodePlatform()
    const field = fc.constantFrom('DevIDPub', 'EKPub', 'AKPub', 'CertifiedDevID', 'CertificationSignature')
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.base64String({ maxLength: 12 }), fc.constant('Zh=='), fc.constant('AA AA'))
    fc.assert(
      fc.property(field, value, (k, v) => {
        const ev = { ...good, [k]: v }
        expect(outcome(() => decodeTpmDevidEvidence(ev, node))).toEqual(outcome(() => decodeTpmDevidEvidence(ev)))
      }),
      { numRuns: 5000 },
    )
  })
})

describe('Node base64 encoder (Platform.encodeBase64)', () => {
  it('equals core toBase64 for every length 0..300 and on views at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, offset) => {
        const backing = new Uint8Array(bytes.length + offset)
        backing.set(bytes, offset)
        const view = backing.subarray(offset)
        expect(encodeBase64Buffer(view)).toBe(toBase64(bytes))
      }),
      { numRuns: 5_000 },
    )
  })

  it('is what createNodePlatform puts on the platform', () => {
    expect(createNodePlatform().encodeBase64).toBe(encodeBase64Buffer)
  })
})

const coreUrl = (text: string) => {
  try {
    return fromBase64Url(text)
  } catch {
    return undefined
  }
}

describe('Node base64url fast path (Platform.decodeBase64Url, encodeBase64Url)', () => {
  it('accepts exactly what core accepts, with the same bytes (padding, the standard alphabet, whitespace refused)', () => {
    const text = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\té'.split('')),
      maxLength: 48,
    })
    fc.assert(
      fc.property(text, (t) => {
        expect(decodeBase64UrlCanonical(t)).toEqual(coreUrl(t))
      }),
      { numRuns: 20_000 },
    )
    for (const t of ['', 'Zg', 'Zh', 'Zg==', 'Zm9', 'Zm8', 'Zm9v-_', 'Zm9v+/', 'Z', 'Zm9vY', 'Zg\n', ' Zg'])
      expect(decodeBase64UrlCanonical(t), t).toEqual(coreUrl(t))
  })

  it('agrees with core on canonical encodings bent by one character: replaced, inserted or deleted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), ODD, BENDS, (b, at, ch, how) => {
        const t = bend(toBase64Url(b), at, ch, how)
        expect(decodeBase64UrlCanonical(t)).toEqual(coreUrl(t))
      }),
      { numRuns: 50_000 },
    )
  })

  it('encodes as core does and decodes its own encoding of random bytes (views included) into a plain Uint8Array', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(8), (b, cut) => {
        const view = b.subarray(Math.min(cut, b.length))
        const text = encodeBase64UrlBuffer(view)
        expect(text).toBe(toBase64Url(view))
        const out = decodeBase64UrlCanonical(text)!
        expect(out).toEqual(new Uint8Array(view))
        expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype)
      }),
      { numRuns: 1000 },
    )
  })
})
