import { SpiffeError } from '../errors.ts'
import { fromUtf8 } from '../bytes/encoding.ts'

/**
 * Strict JSON (RFC 8259) for bundles: a member name that appears twice in one object is an error
 * (SPIFFE_Trust_Domain_and_Bundle §5.1.1 / §6.3: use a duplicate-detecting parser; a JWK with two
 * `use` or `kid` members must not mean different things to different parsers), nesting is bounded,
 * and integers beyond 2^53 are returned as exact `bigint`s (§4.1.1: spiffe_sequence is 64-bit).
 */

/** Bundles are at most this large (a JWKS with thousands of keys is far below it). */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024
const MAX_DEPTH = 32

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

class StrictJson {
  private i = 0
  constructor(
    private readonly s: string,
    private readonly what: string,
    private readonly bigints: boolean,
  ) {}

  fail(message: string): never {
    throw new SpiffeError('ERR_BUNDLE_MALFORMED', `${this.what}: not JSON (${message} at offset ${this.i})`)
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i)
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break
      this.i++
    }
  }

  document(): unknown {
    this.ws()
    if (this.i >= this.s.length) this.fail('unexpected end of input')
    const v = this.value(0)
    this.ws()
    if (this.i !== this.s.length) this.fail('unexpected data after the value')
    return v
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`)
    this.ws()
    const c = this.s[this.i]
    if (c === '{') return this.object(depth)
    if (c === '[') return this.array(depth)
    if (c === '"') return this.string()
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number()
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length
        return v
      }
    }
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`)
  }

  object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const seen = new Set<string>()
    this.i++
    this.ws()
    if (this.s[this.i] === '}') {
      this.i++
      return out
    }
    for (;;) {
      this.ws()
      if (this.s[this.i] !== '"') this.fail('expected a member name')
      const name = this.string()
      if (seen.has(name)) this.fail(`member ${JSON.stringify(name.slice(0, 64))} appears twice`)
      seen.add(name)
      this.ws()
      if (this.s[this.i] !== ':') this.fail('expected ":"')
      this.i++
      // defineProperty: a member named __proto__ stays data, as with JSON.parse
      Object.defineProperty(out, name, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true })
      this.ws()
      const c = this.s[this.i++]
      if (c === '}') return out
      if (c !== ',') this.fail('expected "," or "}"')
    }
  }

  array(depth: number): unknown[] {
    const out: unknown[] = []
    this.i++
    this.ws()
    if (this.s[this.i] === ']') {
      this.i++
      return out
    }
    for (;;) {
      out.push(this.value(depth + 1))
      this.ws()
      const c = this.s[this.i++]
      if (c === ']') return out
      if (c !== ',') this.fail('expected "," or "]"')
    }
  }

  string(): string {
    const start = this.i
    this.i++
    for (;;) {
      const c = this.s.charCodeAt(this.i)
      if (Number.isNaN(c)) this.fail('unterminated string')
      if (c === 0x22) break
      if (c < 0x20) this.fail('control character in a string')
      this.i += c === 0x5c ? 2 : 1
    }
    this.i++
    try {
      return JSON.parse(this.s.slice(start, this.i)) as string
    } catch {
      return this.fail('bad string escape')
    }
  }

  number(): number | bigint {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400))
    if (!m) return this.fail('bad number')
    this.i += m[0].length
    const n = Number(m[0])
    if (this.bigints && m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0])
    return n
  }
}

/**
 * Strict JSON text to a value (see above); every failure is ERR_BUNDLE_MALFORMED. With
 * `bigints: false`, large integers become (inexact) numbers, as with JSON.parse.
 */
export function parseStrictJson(text: string, what: string, options: { bigints?: boolean } = {}): unknown {
  return new StrictJson(text, what, options.bigints ?? true).document()
}

/** JSON text (string or UTF-8 bytes) to a top-level object, strictly; failures are ERR_BUNDLE_MALFORMED. */
export function parseJsonObject(input: string | Uint8Array, what: string): Record<string, unknown> {
  const size = typeof input === 'string' ? input.length : input.byteLength
  if (size > MAX_BUNDLE_BYTES) throw new SpiffeError('ERR_INPUT_TOO_LARGE', `${what}: ${size} bytes, at most ${MAX_BUNDLE_BYTES} allowed`)
  let text: string
  try {
    text = typeof input === 'string' ? input : fromUtf8(input, what)
  } catch {
    throw new SpiffeError('ERR_BUNDLE_MALFORMED', `${what}: not valid utf-8`)
  }
  const value = parseStrictJson(text, what)
  if (!isObject(value)) throw new SpiffeError('ERR_BUNDLE_MALFORMED', `${what}: expected a JSON object, found ${typeName(value)}`)
  return value
}
