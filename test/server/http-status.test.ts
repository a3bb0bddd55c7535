import { describe, expect, it } from 'vitest'
import { ERROR_CATALOGUE, ERROR_CODES, type ErrorCode } from '../../core/errors.ts'
import { HTTP_STATUS, httpStatusOf } from '../../server/http-status.ts'

describe('http status table', () => {
  it('answers every code with the status its catalogue entry declares, none guessed', () => {
    const declared = new Map<string, number>()
    for (const codes of Object.values(ERROR_CATALOGUE)) for (const [code, e] of Object.entries(codes)) declared.set(code, e.status)
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(httpStatusOf(code), code).toBe(declared.get(code))
      expect(HTTP_STATUS[code], code).toBe(declared.get(code))
    }
    expect(httpStatusOf('ERR_SESSION_UNKNOWN')).toBe(404)
    expect(httpStatusOf('ERR_SESSION_EXPIRED')).toBe(410)
    expect(httpStatusOf('ERR_AGENT_BANNED')).toBe(403)
    expect(httpStatusOf('ERR_DEVID_SIGNATURE')).toBe(401)
    expect(httpStatusOf('ERR_EVIDENCE_MALFORMED')).toBe(400)
    expect(httpStatusOf('ERR_SESSION_STORE_FULL')).toBe(503)
    expect(httpStatusOf('ERR_TPM2_QUALIFYING_DATA_MISMATCH')).toBe(401)
    expect(httpStatusOf('ERR_REQUEST_MEDIA_TYPE')).toBe(415)
    expect(httpStatusOf('ERR_INTERNAL')).toBe(500)
    // the codes the DoS hardening, the certificate profiles and the event log brought, as main answered them
    expect(httpStatusOf('ERR_RATE_LIMITED')).toBe(429)
    expect(httpStatusOf('ERR_SVID_KEY_REJECTED')).toBe(400)
    expect(httpStatusOf('ERR_SVID_KEY_UNPROVEN')).toBe(401)
    expect(httpStatusOf('ERR_EK_PROFILE')).toBe(401)
    expect(httpStatusOf('ERR_DEVID_PROFILE')).toBe(401)
    expect(httpStatusOf('ERR_BUNDLE_UNTRUSTED')).toBe(401)
    expect(httpStatusOf('ERR_EVENTLOG_MALFORMED')).toBe(400)
    expect(httpStatusOf('ERR_EVENTLOG_REPLAY_MISMATCH')).toBe(401)
  })
})
