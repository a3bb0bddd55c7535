// tpm2_eventlog (tpm2-tools 5.4) as a second implementation: vouch's replay equals its `pcrs:`
// block on every log it reads, except the differences listed below, each settled by the value the
// TPM reported where the source has one.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isVerifyError } from '../../../core/errors.ts'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { replayEventLog, replayToJson } from '../../../core/eventlog/replay.ts'
import { LOG_PATHS, REFUSED, readLog, reportedPcrs } from './vectors.ts'

type Banks = Record<string, Record<string, string>>

const dir = mkdtempSync(join(tmpdir(), 'vouch-eventlog-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function tpm2Eventlog(path: string): { status: number | null; signal: string | null; banks: Banks; stderr: string } {
  const file = join(dir, path.replaceAll('/', '_'))
  writeFileSync(file, readLog(path))
  const r = spawnSync('tpm2_eventlog', [file], { encoding: 'utf8', timeout: 20_000 })
  if (r.error) throw new Error(`tpm2_eventlog did not run (${r.error.message}); install it with: bash scripts/ensure-system.sh`)
  const banks: Banks = {}
  const block = /\npcrs:\n([\s\S]*)$/.exec(r.stdout)?.[1] ?? ''
  let bank = ''
  for (const line of block.split('\n')) {
    const b = /^ {2}(\w+):$/.exec(line)
    if (b) {
      bank = b[1]!
      banks[bank] = {}
      continue
    }
    const v = /^ {4}(\d+)\s*: 0x([0-9A-Fa-f]+)$/.exec(line)
    if (v) banks[bank]![v[1]!] = v[2]!.toLowerCase()
  }
  return { status: r.status, signal: r.signal, banks, stderr: r.stderr }
}

const tools = (n: string) => `google-go-tpm-tools/internal/test/eventlogs/${n}`

/** Where tpm2_eventlog fails to produce PCRs at all. */
const TOOL_FAILS: Record<string, string> = {
  'google-go-attestation/attest/testdata/option_rom_eventlog':
    'tpm2_eventlog crashes (SIGSEGV) after printing the events; vouch replays PCR 0-7 to the SHA-1 values the TPM reported',
  'google-go-attestation/attest/testdata/short_no_action_eventlog':
    'tpm2_eventlog refuses ("invalid eventDataSize in specid event"); vouch, like go-attestation, reads a first EV_NO_ACTION too short for a Spec ID event as a SHA1-legacy log',
  'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-bogus':
    'not a log: tpm2_eventlog crashes (SIGSEGV), vouch refuses it with ERR_EVENTLOG_MALFORMED',
  'tpm2-software-tpm2-tools/test/integration/fixtures/specid-vendordata.bin':
    'the vendorInfo lies outside the Spec ID event: tpm2_eventlog reads past eventSize and prints no PCRs; vouch refuses it with ERR_EVENTLOG_SPEC_ID',
}

const ALL = ['sha1', 'sha256', 'sha384']
const pcr0 = (banks: string[]) => banks.map((b) => `${b}:0`)

/** Where both produce PCRs and they differ: the PCRs, why, and what settles it. */
const DIFFERENCES: Record<string, { pcrs: string[]; why: string }> = {
  [tools('glinux-alex.bin')]: { pcrs: pcr0(['sha1', 'sha256']), why: 'StartupLocality 3: tpm2-tools 5.4 starts PCR 0 at zero' },
  [tools('gdc-host.bin')]: { pcrs: pcr0(['sha256']), why: 'StartupLocality 3: tpm2-tools 5.4 starts PCR 0 at zero' },
  'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements': {
    pcrs: pcr0(['sha1', 'sha256']),
    why: 'StartupLocality 3: tpm2-tools 5.4 starts PCR 0 at zero (no TPM value published; PFP §10.4.5.3 and the two logs above settle it)',
  },
  [tools('eventlogwithsp800155.bin')]: {
    pcrs: pcr0(ALL),
    why: 'tpm2-tools 5.4 extends the SP 800-155 EV_NO_ACTION events (zero digests) into PCR 0',
  },
  [tools('confidential-gke-debug-251000_eventlog.bin')]: {
    pcrs: pcr0(ALL),
    why: 'tpm2-tools 5.4 extends the SP 800-155 EV_NO_ACTION events (zero digests) into PCR 0',
  },
  'tpm2-software-tpm2-tss/derived/binary_measurements_hcrtm.bin': {
    pcrs: pcr0(['sha1', 'sha256', 'sm3_256']),
    why: 'EV_EFI_HCRTM_EVENT: tpm2-tools 5.4 starts PCR 0 at zero, not 00..04 (the TPM reported the SHA-1 value vouch replays)',
  },
}

const reported = new Map(reportedPcrs().map((r) => [r.log, r.values]))
const counts = { logs: 0, toolFails: 0, agreeAll: 0, differ: 0, settledByTpm: 0 }

describe('tpm2_eventlog agrees with vouch replay', () => {
  for (const path of LOG_PATHS) {
    it(path, async () => {
      counts.logs++
      const theirs = tpm2Eventlog(path)
      let ours: Banks | undefined
      try {
        ours = replayToJson(await replayEventLog(parseEventLog(readLog(path))))
      } catch (e) {
        if (!isVerifyError(e)) throw e
        expect(REFUSED[path]?.code).toBe(e.code)
      }
      if (TOOL_FAILS[path]) {
        counts.toolFails++
        expect(Object.keys(theirs.banks)).toEqual([])
        expect(theirs.status === 0 && theirs.signal === null && Object.keys(theirs.banks).length > 0).toBe(false)
        return
      }
      expect(theirs.status).toBe(0)
      expect(ours).toBeDefined()
      const differ: string[] = []
      const keys = new Set(
        [...Object.entries(theirs.banks), ...Object.entries(ours!)].flatMap(([b, p]) => Object.keys(p).map((i) => `${b}:${i}`)),
      )
      for (const k of keys) {
        const [b, i] = k.split(':') as [string, string]
        if (theirs.banks[b]?.[i] !== ours![b]?.[i]) differ.push(k)
      }
      const known = DIFFERENCES[path]
      expect(differ.sort()).toEqual((known?.pcrs ?? []).slice().sort())
      if (!known) {
        counts.agreeAll++
        return
      }
      counts.differ++
      // where the TPM reported the PCR, vouch has the TPM's value and tpm2-tools does not
      const tpm = reported.get(path) ?? []
      const algs: Record<number, string> = { 4: 'sha1', 11: 'sha256', 12: 'sha384' }
      let settled = 0
      for (const v of tpm) {
        const k = `${algs[v.alg]}:${v.pcr}`
        if (!known.pcrs.includes(k)) continue
        expect(ours![algs[v.alg]!]![String(v.pcr)]).toBe(v.hex)
        expect(theirs.banks[algs[v.alg]!]![String(v.pcr)]).not.toBe(v.hex)
        settled++
      }
      if (settled) counts.settledByTpm++
    })
  }

  afterAll(() => {
    // the per-log agreement counts of docs/eventlog.md
    console.info(`tpm2_eventlog comparison: ${JSON.stringify(counts)}`)
  })
})
