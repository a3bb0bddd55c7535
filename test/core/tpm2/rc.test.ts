import { describe, expect, it } from 'vitest'
import { decodeRc, describeRc, isRetryable, TpmResponseError } from '../../../core/tpm2/rc.ts'

describe('decodeRc (Part 2 §6.6)', () => {
  it.each([
    [0x98e, 'TPM_RC_AUTH_FAIL', { session: 1 }],
    [0x9a2, 'TPM_RC_BAD_AUTH', { session: 1 }],
    [0x902, 'TPM_RC_OBJECT_MEMORY', {}],
    [0x922, 'TPM_RC_RETRY', {}],
    [0x908, 'TPM_RC_YIELDED', {}],
    [0x91f, 'TPM_RC_INTEGRITY', {}], // warning space collision check below
    [0x18b, 'TPM_RC_HANDLE', { handle: 1 }],
    [0x28b, 'TPM_RC_HANDLE', { handle: 2 }],
    [0x1df, 'TPM_RC_INTEGRITY', { parameter: 1 }],
    [0x2d5, 'TPM_RC_SIZE', { parameter: 2 }],
    [0x101, 'TPM_RC_FAILURE', {}],
    [0x149, 'TPM_RC_NV_AUTHORIZATION', {}],
    [0x921, 'TPM_RC_LOCKOUT', {}],
  ] as const)('0x%s is %s', (rc, name, where) => {
    const d = decodeRc(rc)
    if (rc === 0x91f) {
      expect(d.name).not.toBe(name)
      expect(d.kind).toBe('warning')
      return
    }
    expect(d.name).toBe(name)
    expect(d.handle).toBe((where as { handle?: number }).handle)
    expect(d.session).toBe((where as { session?: number }).session)
    expect(d.parameter).toBe((where as { parameter?: number }).parameter)
  })

  it('names success, layers, vendor and unknown codes', () => {
    expect(decodeRc(0).name).toBe('TPM_RC_SUCCESS')
    expect(decodeRc(0xa0001).kind).toBe('layer')
    expect(decodeRc(0x0500).kind).toBe('vendor')
    expect(decodeRc(0x17f).name).toBe('TPM_RC_0x17f')
  })

  it('describes where the error points and which codes retry', () => {
    expect(describeRc(0x98e)).toBe('TPM_RC_AUTH_FAIL (session 1, 0x98e)')
    expect(isRetryable(0x922)).toBe(true)
    expect(isRetryable(0x90a)).toBe(true)
    expect(isRetryable(0x902)).toBe(false)
    expect(isRetryable(0x98e)).toBe(false)
    const e = new TpmResponseError('TPM2_Load', 0x1df, 'blob from another TPM')
    expect(e.code).toBe('ERR_TPM2_RESPONSE_CODE')
    expect(e.message).toBe('TPM2_Load failed: TPM_RC_INTEGRITY (parameter 1, 0x1df): blob from another TPM')
  })
})
