import { describe, expect, it } from 'vitest'
import { ERROR_CODES, type ErrorCode } from '../../core/errors.ts'
import { HTTP_STATUS, httpStatusOf } from '../../server/http-status.ts'

describe('http status table', () => {
  it('gives every error code a 4xx/5xx status; table entries win, the rest fall back by name', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const s = httpStatusOf(code)
      expect([400, 401, 403, 404, 410, 413, 429, 501, 503], code).toContain(s)
      if (HTTP_STATUS[code] !== undefined) expect(s).toBe(HTTP_STATUS[code])
    }
    expect(httpStatusOf('ERR_SESSION_UNKNOWN')).toBe(404)
    expect(httpStatusOf('ERR_SESSION_EXPIRED')).toBe(410)
    expect(httpStatusOf('ERR_AGENT_BANNED')).toBe(403)
    expect(httpStatusOf('ERR_DEVID_SIGNATURE')).toBe(401)
    expect(httpStatusOf('ERR_EVIDENCE_MALFORMED')).toBe(400)
    expect(httpStatusOf('ERR_SESSION_STORE_FULL')).toBe(503)
  })
})
