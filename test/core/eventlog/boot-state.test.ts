import { describe, expect, it } from 'vitest'
import { fromHex } from '../../../core/bytes/encoding.ts'
import { evaluateBootState } from '../../../core/eventlog/boot-state.ts'
import { checkReplay } from '../../../core/eventlog/check-replay.ts'
import { EV } from '../../../core/eventlog/event-types.ts'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { replayEventLog } from '../../../core/eventlog/replay.ts'
import { type QuoteExpected, readJson, readLog, type ToolsExpected } from './vectors.ts'

const RHEL = 'google-go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin'
const ALG: Record<string, number> = { SHA1: 4, SHA256: 11 }
const rhelPcrs = Object.entries<Record<string, string>>(
  readJson<ToolsExpected>('google-go-tpm-tools/internal/test/expected_eventlogs.json').logs['eventlogs/rhel8-uefi.bin']!.banks,
).flatMap(([bank, pcrs]) => Object.entries(pcrs).map(([pcr, hex]) => ({ alg: ALG[bank]!, pcr: Number(pcr), value: fromHex(hex) })))

/** What a verifier sees: the log checked against the TPM's PCRs, then the boot state from the verified PCRs. */
async function verdict(bytes: Uint8Array) {
  const log = parseEventLog(bytes)
  const check = await checkReplay(await replayEventLog(log), rhelPcrs)
  return { check, state: await evaluateBootState(log, { verifiedPcrs: check.verifiedPcrs }) }
}

const TYPES = [
  EV.IPL,
  EV.EFI_ACTION,
  EV.EFI_VARIABLE_AUTHORITY,
  EV.EFI_VARIABLE_DRIVER_CONFIG,
  EV.EFI_BOOT_SERVICES_APPLICATION,
  EV.SEPARATOR,
  EV.EFI_GPT_EVENT,
  0x1234,
]

describe('evaluateBootState', () => {
  it('a retyped event changes neither the replay check nor the boot state (every event of rhel8, one other type each)', async () => {
    const bytes = readLog(RHEL)
    const original = await verdict(bytes)
    expect(original.check.ok).toBe(true)
    expect(original.state.secureBoot).toBe('enabled')
    const log = parseEventLog(bytes)
    let retyped = 0
    for (const e of log.events) {
      if (e.type === EV.NO_ACTION) continue // not extended: retyping it changes the replay, which the PCR check catches
      const type = TYPES.find((t, i) => t !== e.type && i === e.index % TYPES.length) ?? 0x1234
      const b = bytes.slice()
      new DataView(b.buffer).setUint32(e.offset + 4, type, true)
      const v = await verdict(b)
      expect(v.check).toEqual(original.check)
      expect(v.state).toEqual(original.state)
      retyped++
    }
    expect(retyped).toBe(82)
  })

  it('the SecureBoot variable retyped into an authority or an EFI action still reads as enabled', async () => {
    const bytes = readLog(RHEL)
    const sb = parseEventLog(bytes).events.find((e) => e.pcr === 7 && e.type === EV.EFI_VARIABLE_DRIVER_CONFIG)!
    for (const type of [EV.EFI_VARIABLE_AUTHORITY, EV.EFI_ACTION, EV.IPL]) {
      const b = bytes.slice()
      new DataView(b.buffer).setUint32(sb.offset + 4, type, true)
      expect((await verdict(b)).state.secureBoot).toBe('enabled')
    }
  })

  it('data edited without its digest does not count: SecureBoot 1 -> 0 leaves the state unknown, the replay unchanged', async () => {
    const bytes = readLog(RHEL)
    const sb = parseEventLog(bytes).events.find((e) => e.pcr === 7 && e.data.length === 32 + 20 + 1)!
    const b = bytes.slice()
    b[sb.data.byteOffset - bytes.byteOffset + sb.data.length - 1] = 0 // the last byte of VariableData
    const v = await verdict(b)
    expect(v.check.ok).toBe(true)
    expect(v.state.secureBoot).toBe('unknown')
    expect(v.state.uncounted).toContainEqual({ event: sb.index, pcr: 7, reason: 'digest-mismatch' })
  })

  it('events of PCRs that did not replay to the quoted value do not count', async () => {
    const log = parseEventLog(readLog(RHEL))
    const wrong7 = rhelPcrs.map((p) => (p.pcr === 7 ? { ...p, value: new Uint8Array(p.value.length).fill(1) } : p))
    const check = await checkReplay(await replayEventLog(log), wrong7)
    expect(check.ok).toBe(false)
    expect(check.verifiedPcrs).not.toContain(7)
    const state = await evaluateBootState(log, { verifiedPcrs: check.verifiedPcrs })
    expect(state.secureBoot).toBe('unknown')
    expect(state.db).toBeUndefined()
    expect(state.authorities).toEqual([])
    expect(state.uncounted).toContainEqual(expect.objectContaining({ pcr: 7, reason: 'pcr-not-verified' }))
    // PCR 4 still replays: the boot applications count
    expect(state.bootApplications).toHaveLength(3)
  })

  it('a quote of all 24 PCRs (GCE COS): PCRs 0-9 verified, IMA PCR 10 not in the log, the rest at reset values', async () => {
    const dir = 'google-go-tpm-tools/derived/gce-cos-85-nonce9009'
    const pcrs = readJson<QuoteExpected>(`${dir}/expected.json`).quotes.sha256!.pcrs
    const log = parseEventLog(readLog(`${dir}/event_log.bin`))
    const check = await checkReplay(
      await replayEventLog(log),
      Object.entries(pcrs).map(([pcr, hex]) => ({ alg: 11, pcr: Number(pcr), value: fromHex(hex) })),
    )
    expect(check.ok).toBe(true)
    expect(check.verifiedPcrs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(check.pcrs.find((c) => c.pcr === 10)?.status).toBe('not-in-log')
    // PCR 17-22 reset to all ones; the log does not touch them
    expect(check.pcrs.find((c) => c.pcr === 17)?.status).toBe('not-in-log')
    expect(check.pcrs.find((c) => c.pcr === 23)?.status).toBe('match')
  })
})
