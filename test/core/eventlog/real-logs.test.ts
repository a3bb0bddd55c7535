// Every real log in test/vectors/eventlog: parsed, replayed to what the TPM reported, boot state
// as each source expects, the known-bad ones refused with the right reason.
import { describe, expect, it } from 'vitest'
import { isVerifyError } from '../../../core/errors.ts'
import { assertReplayMatches, checkReplay } from '../../../core/eventlog/check-replay.ts'
import { evaluateBootState } from '../../../core/eventlog/boot-state.ts'
import { decodeEvent } from '../../../core/eventlog/decode-event.ts'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { replayEventLog } from '../../../core/eventlog/replay.ts'
import { fromHex } from '../../../core/bytes/encoding.ts'
import { type AttestationExpected, LOG_PATHS, REFUSED, readJson, readLog, reportedPcrs, type ToolsExpected } from './vectors.ts'

async function load(path: string) {
  const log = parseEventLog(readLog(path))
  return { log, replay: await replayEventLog(log) }
}

describe('real event logs: parse', () => {
  it('holds the logs the proof names (go-tpm-tools 14, go-attestation 8, tpm2-tools 12, tpm2-tss 3, keylime 4)', () => {
    expect(LOG_PATHS.filter((p) => p.startsWith('google-go-tpm-tools/internal/'))).toHaveLength(14)
    expect(LOG_PATHS.filter((p) => p.startsWith('google-go-attestation/'))).toHaveLength(8)
    expect(LOG_PATHS.filter((p) => p.startsWith('tpm2-software-tpm2-tools/'))).toHaveLength(12)
    expect(LOG_PATHS.filter((p) => p.startsWith('tpm2-software-tpm2-tss/'))).toHaveLength(3)
    expect(LOG_PATHS.filter((p) => p.startsWith('keylime-keylime/'))).toHaveLength(4)
  })

  for (const path of LOG_PATHS) {
    const refused = REFUSED[path]
    it(
      refused ? `${path}: refused with ${refused.code} (${refused.why})` : `${path}: parses and every event decodes or names its fault`,
      () => {
        const bytes = readLog(path)
        if (refused) {
          let err: unknown
          try {
            parseEventLog(bytes)
          } catch (e) {
            err = e
          }
          expect(isVerifyError(err) && err.code).toBe(refused.code)
          return
        }
        const log = parseEventLog(bytes)
        expect(log.events.length).toBeGreaterThan(0)
        for (const e of log.events) {
          const d = decodeEvent(e)
          if (d.error) expect(d.error).toBe('ERR_EVENTLOG_EVENT_DATA')
        }
      },
    )
  }

  it('short_no_action_eventlog (49 bytes, an EV_NO_ACTION shorter than a Spec ID event) is a SHA1-legacy log', () => {
    const log = parseEventLog(readLog('google-go-attestation/attest/testdata/short_no_action_eventlog'))
    expect(log.format).toBe('sha1-legacy')
    expect(log.events).toHaveLength(1)
  })

  it('debian-10 is SHA1-legacy; the GCE logs are crypto-agile with SHA1, SHA256 and SHA384', () => {
    expect(parseEventLog(readLog('google-go-tpm-tools/internal/test/eventlogs/debian-10.bin')).format).toBe('sha1-legacy')
    const agile = parseEventLog(readLog('google-go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin'))
    expect(agile.format).toBe('crypto-agile')
    expect(agile.banks).toEqual([0x0004, 0x000b, 0x000c])
  })
})

describe('real event logs: replay to the PCR values the TPM reported', () => {
  for (const r of reportedPcrs()) {
    it(`${r.log} (${r.source})`, async () => {
      const { replay } = await load(r.log)
      const check = await checkReplay(
        replay,
        r.values.map((v) => ({ alg: v.alg, pcr: v.pcr, value: fromHex(v.hex) })),
      )
      expect(check.pcrs.filter((c) => c.status === 'mismatch')).toEqual([])
      expect(check.ok).toBe(true)
      expect(check.quirksUsed).toEqual([])
      // every listed PCR the log extends matched, in every listed bank
      const extended = new Set(replay.extendedPcrs)
      const listedExtended = r.values.filter((v) => extended.has(v.pcr))
      expect(listedExtended.length).toBeGreaterThan(0)
      for (const v of listedExtended) {
        expect(check.pcrs.find((c) => c.alg === v.alg && c.pcr === v.pcr)?.status).toBe('match')
      }
    })
  }

  it('binary_measurements_hcrtm: PCR 0 replays only from the H-CRTM start value 00..04', async () => {
    const { replay } = await load('tpm2-software-tpm2-tss/derived/binary_measurements_hcrtm.bin')
    expect(replay.hcrtm).toBe(true)
    const sha1 = replay.banks.find((b) => b.name === 'sha1')!
    expect(Buffer.from(sha1.pcrs.get(0)!).toString('hex')).toBe('15f4e6ca457d1af6bc49511a93ba3500ad69acc5')
    // the SM3_256 bank starts there too (its value agrees with tpm2_eventlog on every other PCR)
    const sm3 = replay.banks.find((b) => b.name === 'sm3_256')!
    expect(sm3.replayed).toBe(true)
    expect(sm3.pcrs.size).toBe(10)
  })

  it('StartupLocality 3 sets PCR 0 to 00..03 before the first extend (keylime ThinkPad, glinux-alex, gdc-host)', async () => {
    for (const p of [
      'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements',
      'google-go-tpm-tools/internal/test/eventlogs/glinux-alex.bin',
      'google-go-tpm-tools/internal/test/eventlogs/gdc-host.bin',
    ]) {
      expect((await load(p)).replay.startupLocality).toBe(3)
    }
  })

  describe('ebs_event_missing_eventlog: PCR 5 lacks the ExitBootServices events', () => {
    const path = 'google-go-attestation/attest/testdata/ebs_event_missing_eventlog'
    const expected = readJson<AttestationExpected>('google-go-attestation/attest/expected_eventlogs.json').ebs_event_missing_eventlog!
      .expected_pcrs.sha1!
    const want = [{ alg: 0x0004, pcr: 5, value: fromHex(expected['5']!) }]

    it('is refused by default with ERR_EVENTLOG_REPLAY_MISMATCH naming PCR 5', async () => {
      const check = await checkReplay((await load(path)).replay, want)
      expect(check.ok).toBe(false)
      expect(check.pcrs[0]).toMatchObject({ pcr: 5, status: 'mismatch', found: 'e5781a2fd49c23a33b16bf0ba5f10efa1aa5d43c' })
      expect(() => assertReplayMatches(check)).toThrow(expect.objectContaining({ code: 'ERR_EVENTLOG_REPLAY_MISMATCH' }))
      expect(() => assertReplayMatches(check)).toThrow(/PCR 5 \(sha1\)/)
    })

    it('is accepted when the policy names exit-boot-services-missing, and the verdict says so', async () => {
      const check = await checkReplay((await load(path)).replay, want, { quirks: ['exit-boot-services-missing'] })
      expect(check.ok).toBe(true)
      expect(check.pcrs[0]).toMatchObject({ status: 'match-with-quirk', quirk: 'exit-boot-services-missing', found: expected['5'] })
      expect(check.quirksUsed).toEqual(['exit-boot-services-missing'])
    })

    it('the quirk does not rescue a wrong value', async () => {
      const wrong = [{ alg: 0x0004, pcr: 5, value: new Uint8Array(20).fill(7) }]
      const check = await checkReplay((await load(path)).replay, wrong, { quirks: ['exit-boot-services-missing'] })
      expect(check.ok).toBe(false)
      expect(check.quirksUsed).toEqual([])
    })
  })
})

describe('real event logs: boot state', () => {
  async function state(path: string, quirks: ('shim-authority-size' | 'exit-boot-services-missing')[] = []) {
    const { log, replay } = await load(path)
    return evaluateBootState(log, { verifiedPcrs: replay.extendedPcrs, quirks })
  }
  const tools = (name: string) => `google-go-tpm-tools/internal/test/eventlogs/${name}`

  it('secure boot as each source expects', async () => {
    const expected: Record<string, 'enabled' | 'disabled'> = {
      [tools('rhel8-uefi.bin')]: 'enabled',
      [tools('ubuntu-2104-no-secure-boot.bin')]: 'disabled',
      [tools('glinux-alex.bin')]: 'disabled',
      // SecureBoot measured with no data (the variable is absent): go-tpm-tools "data len is 0"
      [tools('arch-linux-workstation.bin')]: 'disabled',
      'google-go-attestation/attest/testdata/sb_cert_eventlog': 'enabled',
      'google-go-attestation/derived/windows_gcp_shielded_vm/event_log.bin': 'enabled',
      'google-go-attestation/attest/testdata/coreos_36_shielded_vm_no_secure_boot_eventlog': 'disabled',
      'google-go-attestation/attest/testdata/ubuntu_2104_shielded_vm_no_secure_boot_eventlog': 'disabled',
      'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements': 'disabled',
      'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-secureboot': 'enabled',
    }
    for (const [path, sb] of Object.entries(expected)) expect([path, (await state(path)).secureBoot]).toEqual([path, sb])
  })

  it('boot application digests in order equal go-tpm-tools efi_app_digests (every bank listed)', async () => {
    const cases = readJson<ToolsExpected>('google-go-tpm-tools/internal/test/expected_eventlogs.json').logs
    let compared = 0
    for (const c of Object.values(cases)) {
      // gdc-host's listed digests occur nowhere in the log (checked: no event carries them)
      if (c.file.includes('gdc-host') || Object.keys(c.efi_app_digests).length === 0) continue
      const s = await state(`google-go-tpm-tools/internal/test/${c.file}`)
      for (const [bank, digests] of Object.entries<string[]>(c.efi_app_digests)) {
        expect(s.bootApplications.map((a) => a.digests[bank.toLowerCase()])).toEqual(digests)
        compared++
      }
    }
    expect(compared).toBe(25)
  })

  it('sb_cert_eventlog: 3 authorities after the separator with shim-authority-size, 1 without', async () => {
    const path = 'google-go-attestation/attest/testdata/sb_cert_eventlog'
    const strict = await state(path)
    expect(strict.authorities).toHaveLength(1)
    expect(strict.uncounted.map((u) => u.reason)).toEqual(['digest-mismatch', 'digest-mismatch'])
    const lenient = await state(path, ['shim-authority-size'])
    expect(lenient.authorities).toHaveLength(3)
    expect(lenient.quirksUsed).toEqual(['shim-authority-size'])
    expect(lenient.uncounted).toEqual([])
  })

  it('option_rom_eventlog: 2 authorities after the separator', async () => {
    expect((await state('google-go-attestation/attest/testdata/option_rom_eventlog')).authorities).toHaveLength(2)
  })

  it('rhel8: PK, KEK, db and dbx contents, the authority of shim, the kernel command line', async () => {
    const s = await state(tools('rhel8-uefi.bin'))
    expect(s.pk?.certificates.map((c) => c.subject)).toEqual(['CN=newpk'])
    expect(s.kek?.certificates[0]?.subject).toContain('CN=Microsoft Corporation KEK CA 2011')
    expect(s.db?.certificates.map((c) => c.subject?.replace(/.*CN=/, ''))).toEqual([
      'Microsoft Corporation UEFI CA 2011',
      'Microsoft Windows Production PCA 2011',
    ])
    expect(s.db?.certificates[0]?.sha256).toBe('48e99b991f57fc52f76149599bff0a58c47154229b9f8d603ac40d3500248507')
    expect(s.dbx?.hashCounts).toEqual({ sha256: 183 })
    expect(s.dbx?.sha256Hashes).toHaveLength(183)
    expect(s.bootApplications[0]?.authorities).toEqual([s.db!.certificates[0]!.sha256])
    expect(s.bootApplications[0]?.devicePath).toMatch(/\\EFI\\redhat\\shimx64\.efi$/)
    expect(s.authorities.map((a) => a.variable)).toEqual(['db', 'Shim'])
    expect(s.kernelCommandLines).toEqual([
      '(hd0,gpt2)/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64 root=UUID=f3948fb4-cce7-4193-940a-c50052e93bf3 ro net.ifnames=0 biosdevname=0 scsi_mod.use_blk_mq=Y crashkernel=auto console=ttyS0,38400n8',
    ])
    expect(s.grubCommands).toContain('insmod blscfg')
    expect(s.shim.mokLists.map((m) => m.name)).toEqual(['MokList', 'MokListX'])
  })

  it('kernel command lines: GRUB upstream (COS, Ubuntu 24.04) and systemd-stub (Fedora 37, UTF-16 in PCR 12)', async () => {
    expect((await state(tools('cos-85-amd-sev.bin'))).kernelCommandLines[0]).toMatch(
      /^\/syslinux\/vmlinuz\.A init=\/usr\/lib\/systemd\/systemd /,
    )
    expect((await state(tools('ubuntu-2404-amd-sevsnp.bin'))).kernelCommandLines[0]).toMatch(/^\/vmlinuz-6\.8\.0-1010-gcp root=PARTUUID=/)
    const fedora = await state('tpm2-software-tpm2-tools/test/integration/fixtures/event-sd-boot-fedora37.bin')
    expect(fedora.kernelCommandLines[0]).toContain('console=ttyS0 console=tty0 efi=debug')
  })

  it('shim: SbatLevel and MokListTrusted (tpm2-tools event-moklisttrusted)', async () => {
    const s = await state('tpm2-software-tpm2-tools/test/integration/fixtures/event-moklisttrusted.bin')
    expect(s.shim.sbatLevel).toMatch(/^sbat,1,/)
    expect(s.shim.variables.map((v) => v.name)).toContain('MokListTrusted')
  })
})
