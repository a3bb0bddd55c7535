import fc from 'fast-check'
import { getPath } from 'hono/utils/url'
import { describe, expect, it } from 'vitest'
import { requestPath } from '../../server/request-path.ts'

const asRequest = (url: string) => ({ url }) as Request

describe('requestPath', () => {
  it('reads plain, query, fragment and percent-encoded paths as Hono does', () => {
    const cases: [string, string][] = [
      ['http://localhost/v1/attest', '/v1/attest'],
      ['http://localhost/v1/attest/abc_-/answer?x=%41', '/v1/attest/abc_-/answer'],
      ['https://h:8443/a#frag?q', '/a'],
      ['http://localhost/a%20b/c?d', '/a b/c'],
      ['http://localhost/', '/'],
    ]
    for (const [url, path] of cases) {
      expect(requestPath(asRequest(url))).toBe(path)
      expect(getPath(asRequest(url))).toBe(path)
    }
  })

  it('reads a long sealed-session path whole', () => {
    const id = 'Ab-_'.repeat(1300)
    expect(requestPath(asRequest(`http://127.0.0.1:8080/v1/attest/${id}/answer`))).toBe(`/v1/attest/${id}/answer`)
  })

  it("equals Hono's getPath on 10,000 random URLs", () => {
    const char = fc.constantFrom(...'ab/%?#:.-_2F~'.split(''), '%2', '%41', '%25', '%zz', 'é')
    fc.assert(
      fc.property(
        fc.constantFrom('http://h', 'https://h:1', 'http://[::1]:8', 'x:'),
        fc.array(char, { maxLength: 40 }),
        (origin, parts) => {
          const url = origin + parts.join('')
          expect(requestPath(asRequest(url))).toBe(getPath(asRequest(url)))
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
