// The real event logs copied into test/vectors/eventlog (see its NOTICE), by path under it.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { isVerifyError } from '../../../core/errors.ts'

export const VECTORS = new URL('../../vectors/eventlog/', import.meta.url).pathname

const NOT_LOGS = /(\.json|\.yaml|\.warn|NOTICE|\.der|\.pb|\/quote[^/]*|\/ak_[^/]*)$/

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

/** Every event log file (relative path), sorted. */
export const LOG_PATHS: readonly string[] = walk(VECTORS)
  .map((p) => relative(VECTORS, p))
  .filter((p) => !NOT_LOGS.test(p))
  .sort()

/** The bytes of a log (keylime's mb_log is stored base64). */
export function readLog(path: string): Uint8Array {
  const raw = readFileSync(join(VECTORS, path))
  return new Uint8Array(path.endsWith('.b64') ? Buffer.from(raw.toString('ascii'), 'base64') : raw)
}

type Pcrs = Record<string, string>

/** The shapes of the expectation files (only the fields the tests read). */
export interface ToolsExpected {
  logs: Record<string, { file: string; banks: Record<string, Pcrs>; efi_app_digests: Record<string, string[]> }>
}
export type AttestationExpected = Record<string, { expected_pcrs: Record<string, Pcrs> }>
export interface QuoteExpected {
  quotes: Record<string, { pcrs: Pcrs }>
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(VECTORS, path), 'utf8')) as T
}

/** Logs that must be refused, with the code and why. */
export const REFUSED: Readonly<Record<string, { code: string; why: string }>> = {
  'keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-bogus': {
    code: 'ERR_EVENTLOG_MALFORMED',
    why: 'keylime negative case: 34 bytes of text, not a log',
  },
  'tpm2-software-tpm2-tools/test/integration/fixtures/specid-vendordata.bin': {
    code: 'ERR_EVENTLOG_SPEC_ID',
    why: 'hand-cut: vendorInfoSize 4 but the 4 vendorInfo bytes lie outside the event (eventSize 37)',
  },
}

/** Every PCR value a source says its TPM reported, per log: [bank alg, pcr, hex]. */
export interface ReportedPcrs {
  readonly log: string
  readonly source: string
  readonly values: readonly { alg: number; pcr: number; hex: string }[]
}

const ALG: Record<string, number> = { sha1: 0x0004, sha256: 0x000b, sha384: 0x000c }

export function reportedPcrs(): ReportedPcrs[] {
  const out: ReportedPcrs[] = []
  const tools = readJson<ToolsExpected>('google-go-tpm-tools/internal/test/expected_eventlogs.json')
  for (const c of Object.values(tools.logs)) {
    const values = Object.entries<Record<string, string>>(c.banks).flatMap(([bank, pcrs]) =>
      Object.entries(pcrs).map(([pcr, hex]) => ({ alg: ALG[bank.toLowerCase()]!, pcr: Number(pcr), hex })),
    )
    out.push({ log: `google-go-tpm-tools/internal/test/${c.file}`, source: 'go-tpm-tools server/eventlog_test.go', values })
  }
  const att = readJson<AttestationExpected>('google-go-attestation/attest/expected_eventlogs.json')
  for (const name of ['sb_cert_eventlog', 'option_rom_eventlog']) {
    const values = Object.entries(att[name]!.expected_pcrs).flatMap(([bank, pcrs]) =>
      Object.entries(pcrs).map(([pcr, hex]) => ({ alg: ALG[bank]!, pcr: Number(pcr), hex })),
    )
    out.push({ log: `google-go-attestation/attest/testdata/${name}`, source: 'go-attestation secureboot_test.go', values })
  }
  const win = readJson<{ pcrs_sha1: Pcrs }>('google-go-attestation/derived/windows_gcp_shielded_vm/expected.json')
  out.push({
    log: 'google-go-attestation/derived/windows_gcp_shielded_vm/event_log.bin',
    source: 'go-attestation windows_gcp_shielded_vm.json (quoted PCRs)',
    values: Object.entries<string>(win.pcrs_sha1).map(([pcr, hex]) => ({ alg: 0x0004, pcr: Number(pcr), hex })),
  })
  for (const q of ['gce-cos-85-no-nonce', 'gce-cos-85-nonce9009']) {
    const e = readJson<QuoteExpected>(`google-go-tpm-tools/derived/${q}/expected.json`)
    const values = Object.entries(e.quotes).flatMap(([bank, quote]) =>
      Object.entries(quote.pcrs).map(([pcr, hex]) => ({ alg: ALG[bank]!, pcr: Number(pcr), hex })),
    )
    out.push({ log: `google-go-tpm-tools/derived/${q}/event_log.bin`, source: 'go-tpm-tools GCE attestation (quoted PCRs)', values })
  }
  out.push({
    log: 'tpm2-software-tpm2-tss/derived/binary_measurements_hcrtm.bin',
    source: 'tpm2-tss test/unit/fapi-eventlog.c ("value got from system")',
    values: [{ alg: 0x0004, pcr: 0, hex: '15f4e6ca457d1af6bc49511a93ba3500ad69acc5' }],
  })
  return out
}

/** The VerifyError code `f` throws, undefined when it returns; anything else is rethrown. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    if (isVerifyError(e)) return e.code
    throw e
  }
  return undefined
}
