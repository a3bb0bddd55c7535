import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, Tpm2Error, VerifyError } from '../../core/errors.ts'
import { renderErrorsDoc } from '../../scripts/gen-errors-doc.ts'

describe('error family', () => {
  it('codes are unique, ERR_-prefixed and upper snake case', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^ERR_[A-Z0-9_]+$/)
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

  it('docs/errors.md is generated from core/errors.ts (run npm run docs:errors)', () => {
    expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorsDoc())
  })
})
