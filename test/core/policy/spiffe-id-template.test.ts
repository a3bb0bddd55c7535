import { describe, expect, it } from 'vitest'
import { checkSpiffeIdTemplate, parseSpiffeIdTemplate, renderSpiffeIdTemplate } from '../../../core/policy/spiffe-id-template.ts'
import { AttestationError } from '../../../core/errors.ts'

describe('SPIFFE ID templates', () => {
  it('renders the default tpm_devid template', () => {
    const fp = 'ab'.repeat(20)
    expect(
      renderSpiffeIdTemplate('/agents/tpm-devid/{{tpm_devid.certificate.fingerprint}}', { 'tpm_devid.certificate.fingerprint': fp }),
    ).toBe(`/agents/tpm-devid/${fp}`)
  })

  it('parses literals and placeholders (spaces inside braces allowed)', () => {
    expect(parseSpiffeIdTemplate('/a/{{ k.x }}-{{y}}')).toEqual([
      { literal: '/a/' },
      { placeholder: 'k.x' },
      { literal: '-' },
      { placeholder: 'y' },
    ])
  })

  it('refuses a value that would break the path, and a placeholder with no value', () => {
    const bad = (attrs: Record<string, string>) => {
      try {
        renderSpiffeIdTemplate('/n/{{k}}', attrs)
        return undefined
      } catch (e) {
        expect(e).toBeInstanceOf(AttestationError)
        return (e as AttestationError).code
      }
    }
    expect(bad({ k: 'a/b' })).toBeUndefined() // "/n/a/b" is a valid two-segment path
    expect(bad({ k: 'has space' })).toBe('ERR_SPIFFE_ID_INVALID')
    expect(bad({ k: '..' })).toBe('ERR_SPIFFE_ID_INVALID')
    expect(bad({ k: '' })).toBe('ERR_SPIFFE_ID_INVALID')
    expect(bad({})).toBe('ERR_SPIFFE_ID_INVALID')
  })

  it('reports unknown placeholders and bad skeletons', () => {
    expect(checkSpiffeIdTemplate('/x/{{a}}', ['a'])).toEqual([])
    expect(checkSpiffeIdTemplate('/x/{{b}}', ['a'])[0]).toMatch(/^unknown placeholder \{\{b\}\}/)
    expect(checkSpiffeIdTemplate('/x/', ['a'])[0]).toMatch(/trailing slash/)
  })
})
