import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  DevIdError,
  ERROR_CATALOGUE,
  ERROR_CODES,
  errorFamily,
  errorStatus,
  type ErrorCode,
  type ErrorEntry,
  type ErrorStatus,
  SpiffeError,
  Tpm2Error,
  VerifyError,
  X509Error,
} from '../../core/errors.ts'
import { renderErrorsDoc } from '../../scripts/gen-errors-doc.ts'

describe('error catalogue', () => {
  it('codes are unique, ERR_-prefixed and upper snake case, each in exactly one family', () => {
    const seen = new Set<string>()
    for (const codes of Object.values(ERROR_CATALOGUE)) {
      for (const code of Object.keys(codes)) {
        expect(code).toMatch(/^ERR_[A-Z0-9_]+$/)
        expect(seen.has(code), code).toBe(false)
        seen.add(code)
      }
    }
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...seen].sort())
  })

  it('declares a status and a meaning for every code (the type requires both)', () => {
    for (const [family, codes] of Object.entries(ERROR_CATALOGUE) as [string, Record<string, ErrorEntry>][]) {
      for (const [code, e] of Object.entries(codes)) {
        expect([400, 401, 403, 404, 410, 413, 415, 429, 500, 501, 503], code).toContain(e.status)
        expect(e.meaning.length, code).toBeGreaterThan(5)
        expect(errorStatus(code as ErrorCode)).toBe(e.status)
        expect(errorFamily(code as ErrorCode)).toBe(family)
      }
    }
    // compile-time: an entry without a status does not satisfy ErrorEntry
    // @ts-expect-error status is required
    const noStatus: ErrorEntry = { meaning: 'x' }
    // @ts-expect-error 402 is not a declared status
    const badStatus: ErrorStatus = 402
    expect([noStatus, badStatus]).toHaveLength(2)
  })

  it('carries code, message, frozen detail and cause; serializes to {code, message}', () => {
    const cause = new Error('inner')
    const e = new Tpm2Error('ERR_TPM2_MALFORMED', 'TPMT_PUBLIC: truncated', { detail: { offset: 3 }, cause })
    expect(e).toBeInstanceOf(VerifyError)
    expect(e.name).toBe('Tpm2Error')
    expect(e.cause).toBe(cause)
    expect(Object.isFrozen(e.detail)).toBe(true)
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'ERR_TPM2_MALFORMED', message: 'TPMT_PUBLIC: truncated' })
  })

  it('a family class takes its own codes and the general ones, never another family', () => {
    expect(new DevIdError('ERR_DEVID_CHAIN', 'x').code).toBe('ERR_DEVID_CHAIN')
    expect(new SpiffeError('ERR_INPUT_TOO_LARGE', 'x').code).toBe('ERR_INPUT_TOO_LARGE')
    expect(new VerifyError('ERR_X509_EXPIRED', 'x').code).toBe('ERR_X509_EXPIRED')
    // tsc rejects these (the @ts-expect-error lines fail the typecheck if they start compiling) ...
    // @ts-expect-error an X.509 code on a DevID error
    expect(() => new DevIdError('ERR_X509_EXPIRED', 'x')).toThrow(TypeError)
    // @ts-expect-error a TPM code on an X.509 error
    expect(() => new X509Error('ERR_TPM2_MALFORMED', 'x')).toThrow(/not a code of the x509 family/)
    // @ts-expect-error not a code at all
    expect(() => new VerifyError('ERR_MADE_UP', 'x')).toThrow(/not a vouch error code/)
    // ... and the constructors refuse them at run time too, for JavaScript callers
    const loose = X509Error as unknown as new (code: string, message: string) => VerifyError
    expect(() => new loose('ERR_DEVID_SIGNATURE', 'x')).toThrow(TypeError)
  })

  it('docs/errors.md is generated from core/errors.ts (run npm run docs:errors)', () => {
    expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorsDoc())
  })
})
