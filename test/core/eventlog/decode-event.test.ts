import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeEvent } from '../../../core/eventlog/decode-event.ts'
import { formatDevicePath } from '../../../core/eventlog/device-path.ts'
import { parseEfiSignatureLists } from '../../../core/eventlog/efi-signature-list.ts'
import { parseUefiVariableData } from '../../../core/eventlog/efi-variable.ts'
import { eventTypeName } from '../../../core/eventlog/event-types.ts'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { codeOf, readLog, VECTORS } from './vectors.ts'

const events = (path: string) => parseEventLog(readLog(path)).events.map((e) => ({ e, type: eventTypeName(e.type), d: decodeEvent(e) }))
const BOOTORDER = 'tpm2-software-tpm2-tools/test/integration/fixtures/event-bootorder.bin'

describe('decodeEvent', () => {
  it('never writes to the log it decodes (a Node Buffer, where slice() is a view)', () => {
    const path = 'google-go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin'
    const buffer = readFileSync(join(VECTORS, path))
    const before = Buffer.from(buffer)
    for (const e of parseEventLog(buffer).events) decodeEvent(e)
    expect(buffer.equals(before)).toBe(true)
  })

  it('firmware blobs, BootOrder, Boot#### load options with device paths, GPT (edk2 log of tpm2-tools)', () => {
    const all = events(BOOTORDER)
    const summaries = all.map((x) => `${x.type} ${x.d.summary}`)
    expect(summaries).toContain('EV_EFI_PLATFORM_FIRMWARE_BLOB base 0x820000 length 0xe0000')
    expect(summaries).toContain('EV_EFI_VARIABLE_BOOT BootOrder: 0001,0000,0002')
    expect(summaries).toContain('EV_EFI_VARIABLE_BOOT Boot0001: UEFI Misc Device PciRoot(0x0)/Pci(0x6,0x0)')
    expect(summaries).toContain('EV_EFI_BOOT_SERVICES_DRIVER PciRoot(0x0)/Pci(0x3,0x0)/Offset(0x15C00,0x47FFF)')
    expect(summaries).toContain(
      'EV_EFI_BOOT_SERVICES_APPLICATION PciRoot(0x0)/Pci(0x6,0x0)/HD(15,GPT,c359e798-596a-42b6-b6f6-eca290429d99,0x2800,0x35000)/\\EFI\\BOOT\\BOOTX64.EFI',
    )
    const gpt = all.find((x) => x.type === 'EV_EFI_GPT_EVENT')!
    expect(gpt.d.summary).toBe('GPT disk 07081ba2-7cc9-4663-8ecf-4692ccb7e3ec, 3 partitions')
    expect(all.filter((x) => x.d.error)).toEqual([])
  })

  it('S-CRTM version and contents, POST code blob (ThinkPad and tpm2-tools logs)', () => {
    const tp = events('keylime-keylime/test/data/create-mb-policy/binary_bios_measurements').map((x) => `${x.type} ${x.d.summary}`)
    expect(tp).toContain('EV_S_CRTM_CONTENTS Boot Guard Measured S-CRTM')
    expect(tp.find((s) => s.startsWith('EV_S_CRTM_VERSION'))).toMatch(/^EV_S_CRTM_VERSION N40ET41W/)
    const post = events('tpm2-software-tpm2-tools/test/integration/fixtures/event-postcode.bin').find((x) => x.type === 'EV_POST_CODE')!
    expect(post.d.summary).toBe('base 0xff130000 length 0xa7f000')
  })

  it('shim: SbatLevel, MokListTrusted flag, the bare Shim certificate', () => {
    const s = events('tpm2-software-tpm2-tools/test/integration/fixtures/event-moklisttrusted.bin').map((x) => x.d.summary)
    expect(s).toContain('MokListTrusted = 01')
    expect(s).toContain('Shim: certificate (920 bytes)')
  })

  it('EV_EFI_PLATFORM_FIRMWARE_BLOB2: description, base, length; EV_SEPARATOR; EV_EFI_ACTION', () => {
    const u64 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff, 0, 0, 0, 0]
    const ev = (type: number, data: number[]) => ({ index: 1, offset: 0, pcr: 0, type, digests: [], data: new Uint8Array(data) })
    const blob2 = decodeEvent(ev(0x8000000a, [4, ...Array.from('PEIM', (c) => c.charCodeAt(0)), ...u64(0xff000000), ...u64(0x10000)]))
    expect(blob2.fields).toEqual({ description: 'PEIM', base: '0xff000000', length: '0x10000' })
    expect(decodeEvent(ev(4, [0xff, 0xff, 0xff, 0xff])).summary).toBe('separator ffffffff')
    expect(
      decodeEvent(
        ev(
          0x80000007,
          Array.from('Exit Boot Services Invocation', (c) => c.charCodeAt(0)),
        ),
      ).summary,
    ).toBe('Exit Boot Services Invocation')
    expect(decodeEvent(ev(0x8000000a, [9, 1])).error).toBe('ERR_EVENTLOG_EVENT_DATA')
  })

  it('malformed data is an ERR_EVENTLOG_EVENT_DATA result, not a throw', () => {
    const e = parseEventLog(readLog(BOOTORDER)).events.find((x) => x.type === 0x80000006)!
    const d = decodeEvent({ ...e, data: e.data.subarray(0, 100) })
    expect(d.error).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(d.summary).toMatch(/^<undecodable: UEFI_GPT_DATA: /)
  })
})

describe('EFI structures', () => {
  it('UEFI_VARIABLE_DATA: sizes must fit exactly', () => {
    const v = new Uint8Array([...new Array(16).fill(1), 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 65, 0, 7])
    expect(parseUefiVariableData(v)).toMatchObject({ name: 'A', data: new Uint8Array([7]) })
    expect(codeOf(() => parseUefiVariableData(v.subarray(0, v.length - 1)))).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(codeOf(() => parseUefiVariableData(new Uint8Array([...v, 0])))).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(parseUefiVariableData(new Uint8Array([...v, 0, 0]), { allowTrailingZeros: true }).name).toBe('A')
  })

  it('EFI_SIGNATURE_LIST: SignatureListSize must be header + n * SignatureSize', () => {
    const list = (listSize: number, sigSize: number, body: number[]) =>
      new Uint8Array([...new Array(16).fill(0), listSize, 0, 0, 0, 0, 0, 0, 0, sigSize, 0, 0, 0, ...body])
    expect(parseEfiSignatureLists(list(28 + 48, 48, new Array(48).fill(2)))).toHaveLength(1)
    expect(codeOf(() => parseEfiSignatureLists(list(28 + 47, 48, new Array(47).fill(2))))).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(codeOf(() => parseEfiSignatureLists(list(28 + 48, 8, new Array(48).fill(2))))).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(codeOf(() => parseEfiSignatureLists(list(200, 48, new Array(48).fill(2))))).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(parseEfiSignatureLists(new Uint8Array())).toEqual([])
  })

  it('device paths: text form, a node shorter than its header is malformed', () => {
    const file = [4, 4, 10, 0, 0x5c, 0, 0x41, 0, 0, 0]
    expect(formatDevicePath(new Uint8Array([2, 1, 12, 0, 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0, ...file, 0x7f, 0xff, 4, 0]))).toBe(
      'PciRoot(0x0)/\\A',
    )
    expect(formatDevicePath(new Uint8Array([9, 9, 6, 0, 0xab, 0xcd, 0x7f, 0xff, 4, 0]))).toBe('Path(9,9,abcd)')
    expect(codeOf(() => formatDevicePath(new Uint8Array([1, 1, 2, 0])))).toBe('ERR_EVENTLOG_EVENT_DATA')
    expect(codeOf(() => formatDevicePath(new Uint8Array([1, 1, 40, 0, 1])))).toBe('ERR_EVENTLOG_EVENT_DATA')
  })
})
