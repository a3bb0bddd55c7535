import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'

const V = new URL('../../vectors/eventlog/', import.meta.url).pathname
const tools = (n: string) => join(V, 'google-go-tpm-tools/internal/test/eventlogs', n)
const tmp = mkdtempSync(join(tmpdir(), 'vouch-cli-eventlog-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function capture() {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err }
}

const expected = JSON.parse(readFileSync(join(V, 'google-go-tpm-tools/internal/test/expected_eventlogs.json'), 'utf8')).logs

describe('vouch eventlog replay', () => {
  it('prints every bank as {"banks": {"sha256": {"0": hex}}}, equal to what the TPM reported', async () => {
    const c = capture()
    expect(await main(['eventlog', 'replay', tools('glinux-alex.bin'), '--output', 'json'], c.io)).toBe(0)
    const out = JSON.parse(c.out[0]!)
    expect(Object.keys(out)).toEqual(['banks'])
    const want = expected['eventlogs/glinux-alex.bin'].banks
    for (const [bank, pcrs] of Object.entries<Record<string, string>>(want)) {
      for (const [i, hex] of Object.entries(pcrs)) expect(out.banks[bank.toLowerCase()][i]).toBe(hex)
    }
  })

  it('text output lists bank and PCR lines (SHA-1, SHA-256 and SM3_256 banks)', async () => {
    const c = capture()
    expect(await main(['eventlog', 'replay', join(V, 'tpm2-software-tpm2-tss/derived/binary_measurements_hcrtm.bin')], c.io)).toBe(0)
    expect(c.out).toContain('sha1:')
    expect(c.out).toContain('   0 : 15f4e6ca457d1af6bc49511a93ba3500ad69acc5')
    expect(c.out).toContain('sm3_256:')
  })

  it('exit 1 with the stable code for a malformed log, exit 2 for a missing file or argument', async () => {
    const c = capture()
    const bogus = join(V, 'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-bogus')
    expect(await main(['eventlog', 'replay', bogus, '--output', 'json'], c.io)).toBe(1)
    expect(JSON.parse(c.out[0]!).error.code).toBe('ERR_EVENTLOG_MALFORMED')
    expect(await main(['eventlog', 'replay', join(tmp, 'nope.bin')], capture().io)).toBe(2)
    expect(await main(['eventlog', 'replay'], capture().io)).toBe(2)
  })
})

describe('vouch eventlog show', () => {
  it('JSON: every event with type, digests and decoded data, and the boot state', async () => {
    const c = capture()
    expect(await main(['eventlog', 'show', tools('rhel8-uefi.bin'), '--output', 'json'], c.io)).toBe(0)
    const out = JSON.parse(c.out[0]!)
    expect(out.format).toBe('crypto-agile')
    expect(out.pcrsVerified).toBe(false)
    expect(out.events).toHaveLength(83)
    expect(out.events[0].summary).toBe('Spec ID Event03: sha1, sha256, sha384')
    expect(out.events.find((e: { type: string }) => e.type === 'EV_EFI_BOOT_SERVICES_APPLICATION').summary).toMatch(/shimx64\.efi$/)
    expect(out.bootState.secureBoot).toBe('enabled')
    expect(out.bootState.bootApplications).toHaveLength(3)
  })

  it('text: events and boot state; --quirk shim-authority-size is reported as used', async () => {
    const c = capture()
    const sb = join(V, 'google-go-attestation/attest/testdata/sb_cert_eventlog')
    expect(await main(['eventlog', 'show', sb, '--quirk', 'shim-authority-size'], c.io)).toBe(0)
    expect(c.out).toContain('  secure boot: enabled')
    expect(c.out).toContain('  authorities: 3')
    expect(c.out).toContain('  quirks used: shim-authority-size')
    expect(await main(['eventlog', 'show', sb, '--quirk', 'no-such-quirk'], capture().io)).toBe(2)
  })
})

describe('vouch verify quote --eventlog', () => {
  const dir = join(V, 'google-go-tpm-tools/derived/gce-cos-85-nonce9009')
  const pcrs = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).quotes.sha256.pcrs as Record<string, string>
  const pcrFile = join(tmp, 'pcrs.bin')
  writeFileSync(pcrFile, Buffer.concat(Array.from({ length: 24 }, (_, i) => Buffer.from(pcrs[String(i)]!, 'hex'))))
  const argv = (log: string, ...extra: string[]) => [
    'verify',
    'quote',
    '--ak',
    join(dir, 'ak_pub.tpmt_public.bin'),
    '--attest',
    join(dir, 'quote_sha256.tpms_attest.bin'),
    '--signature',
    join(dir, 'quote_sha256.tpmt_signature.bin'),
    '--nonce',
    '9009',
    '--pcrs',
    pcrFile,
    '--selection',
    `sha256:${Array.from({ length: 24 }, (_, i) => i).join(',')}`,
    '--eventlog',
    log,
    '--output',
    'json',
    ...extra,
  ]

  it('exit 0 when the log replays to the quoted PCRs, with the verified PCRs and secure boot state', async () => {
    const c = capture()
    expect(await main(argv(join(dir, 'event_log.bin')), c.io)).toBe(0)
    const out = JSON.parse(c.out[0]!)
    expect(out.valid).toBe(true)
    expect(out.eventlog).toMatchObject({ verifiedPcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], quirksUsed: [], secureBoot: 'enabled' })
  })

  it('exit 1 with ERR_EVENTLOG_REPLAY_MISMATCH for another machine’s log', async () => {
    const c = capture()
    expect(await main(argv(tools('cos-93-amd-sev.bin')), c.io)).toBe(1)
    const out = JSON.parse(c.out[0]!)
    expect(out).toMatchObject({ valid: false, error: { code: 'ERR_EVENTLOG_REPLAY_MISMATCH' } })
    expect(out.error.message).toMatch(/^PCR \d+ \(sha256\) replays to [0-9a-f]{64}, the TPM reported [0-9a-f]{64}$/)
  })

  it('exit 1 with ERR_EVENTLOG_MALFORMED for a log that does not parse, exit 2 for an unknown quirk', async () => {
    const bogus = join(V, 'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-bogus')
    const c = capture()
    expect(await main(argv(bogus), c.io)).toBe(1)
    expect(JSON.parse(c.out[0]!).error.code).toBe('ERR_EVENTLOG_MALFORMED')
    expect(await main(argv(join(dir, 'event_log.bin'), '--quirk', 'bogus'), capture().io)).toBe(2)
  })
})
