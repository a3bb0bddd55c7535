import { describe, expect, it } from 'vitest'
import { boundLogValue, createJsonLogger, LOG_MAX_ITEMS, LOG_MAX_STRING } from '../../server/logging.ts'

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

  it('keeps the key order time, level, msg, base, fields, a later key replacing an earlier one; secret names dropped on every line', () => {
    const lines: string[] = []
    const log = createJsonLogger(
      (l) => lines.push(l),
      () => 0,
      { worker: 2, pid: 7, level: 'base' },
    )
    for (let i = 0; i < 3; i++) log.info('m', { pid: 8, token: 'T', msg: 'field', extra: i })
    for (const [i, l] of lines.entries()) {
      expect(Object.entries(JSON.parse(l) as object)).toEqual([
        ['time', '1970-01-01T00:00:00.000Z'],
        ['level', 'base'],
        ['msg', 'field'],
        ['worker', 2],
        ['pid', 8],
        ['extra', i],
      ])
    }
  })

  it('bounds every field: long strings cut with their length, long arrays and objects cut with a count, deep nesting stopped', () => {
    const lines: string[] = []
    const log = createJsonLogger((l) => lines.push(l))
    const providedMethods = Array.from({ length: 20_000 }, (_, i) => `${'x'.repeat(1000)}${i}`)
    log.info('Login started with multi-attestation support', { providedMethods })
    expect(lines[0]!.length).toBeLessThan(LOG_MAX_ITEMS * (LOG_MAX_STRING + 40) + 300)
    const got = JSON.parse(lines[0]!).providedMethods as string[]
    expect(got).toHaveLength(LOG_MAX_ITEMS + 1)
    expect(got[0]).toBe(`${'x'.repeat(LOG_MAX_STRING)}…[+745 chars]`)
    expect(got.at(-1)).toBe(`…[+${20_000 - LOG_MAX_ITEMS} more]`)
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))
    expect(Object.keys(boundLogValue(wide) as object)).toHaveLength(LOG_MAX_ITEMS + 1)
    expect((boundLogValue(wide) as Record<string, unknown>)['…']).toBe(`+${40 - LOG_MAX_ITEMS} more`)
    expect(boundLogValue({ a: { b: { c: { d: { e: 1 } } } } })).toEqual({ a: { b: { c: { d: '[object]' } } } })
    expect(boundLogValue('short')).toBe('short')
    expect(boundLogValue(7)).toBe(7)
  })
})
