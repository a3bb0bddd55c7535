import { describe, expect, it } from 'vitest'
import { createJsonLogger } from '../../server/logging.ts'

describe('JSON-lines logger', () => {
  it('writes one JSON object per line with time, level, msg and the fields', () => {
    const lines: string[] = []
    const log = createJsonLogger(
      (l) => lines.push(l),
      () => Date.UTC(2026, 0, 1),
    )
    log.info('Login started with multi-attestation support', { providedMethods: ['tpm_devid'] })
    log.warn('Attestation failed', { code: 'ERR_DEVID_SIGNATURE', message: 'DevID signature verification failed' })
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: '2026-01-01T00:00:00.000Z',
        level: 'info',
        msg: 'Login started with multi-attestation support',
        providedMethods: ['tpm_devid'],
      },
      {
        time: '2026-01-01T00:00:00.000Z',
        level: 'warn',
        msg: 'Attestation failed',
        code: 'ERR_DEVID_SIGNATURE',
        message: 'DevID signature verification failed',
      },
    ])
    expect(lines.every((l) => !l.includes('\n'))).toBe(true)
  })

  it('drops fields whose names say they could hold a secret, a nonce or a whole certificate', () => {
    const lines: string[] = []
    const log = createJsonLogger((l) => lines.push(l))
    log.error('x', {
      nonce: 'N',
      activatedSecret: 'S',
      Credential: 'C',
      privateKey: 'K',
      certificate: 'DER',
      pem: 'P',
      spiffeId: 'spiffe://td/a',
    })
    const o = JSON.parse(lines[0]!) as Record<string, unknown>
    expect(Object.keys(o).sort()).toEqual(['level', 'msg', 'spiffeId', 'time'])
  })
})
