// TpmClient: bounded retry of TPM_RC_RETRY-class warnings and serialized commands (fake transport).
import { describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { fromHex } from '../../core/bytes/encoding.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import type { TpmTransport } from '../../agent/tpm/transport.ts'

const RETRY = fromHex('80010000000a00000922')
const OK = fromHex('80010000001000000000000401020304')

function fake(answers: Uint8Array[]): TpmTransport & { sent: number; maxInFlight: number } {
  let inFlight = 0
  const t = {
    description: 'fake',
    sent: 0,
    maxInFlight: 0,
    async send() {
      t.sent++
      inFlight++
      t.maxInFlight = Math.max(t.maxInFlight, inFlight)
      await new Promise((r) => setTimeout(r, 2))
      inFlight--
      return answers.shift() ?? OK
    },
    async close() {},
  }
  return t
}

describe('TpmClient', () => {
  it('retries TPM_RC_RETRY and returns the later success', async () => {
    const t = fake([RETRY, RETRY, OK])
    const c = new TpmClient(t, { retryDelayMs: 1 })
    expect(await c.run(cmd.getRandom(4))).toEqual(new Uint8Array([1, 2, 3, 4]))
    expect(t.sent).toBe(3)
  })
  it('gives up after the bounded number of retries with the named code', async () => {
    const t = fake(Array.from({ length: 20 }, () => RETRY))
    const c = new TpmClient(t, { retries: 3, retryDelayMs: 1 })
    await expect(c.run(cmd.getRandom(4))).rejects.toThrow('TPM2_GetRandom failed: TPM_RC_RETRY (0x922)')
    expect(t.sent).toBe(4)
  })
  it('serializes concurrent commands (one in flight)', async () => {
    const t = fake([])
    const c = new TpmClient(t)
    await Promise.all(Array.from({ length: 5 }, () => c.run(cmd.getRandom(4))))
    expect(t.sent).toBe(5)
    expect(t.maxInFlight).toBe(1)
  })
  it('an error does not block the queue', async () => {
    const t = fake([fromHex('80010000000a0000098e'), OK])
    const c = new TpmClient(t)
    await expect(c.run(cmd.getRandom(4))).rejects.toThrow(/TPM_RC_AUTH_FAIL/)
    expect(await c.run(cmd.getRandom(4))).toHaveLength(4)
  })
})
