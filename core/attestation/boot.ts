/**
 * The measured-boot facet shared by tpm_devid and tpm_ek: when an attestor's policy has a `boot`
 * block, its challenge carries a quote nonce and a PCR selection, and its answer must carry a
 * TPM2_Quote over that nonce by the attested AK, the quoted PCR values and the TCG event log. The
 * log must replay to the quoted PCRs; the boot state is read from the PCRs it verified only
 * (core/eventlog) and checked against the policy. Every refusal names the PCR, the bank and what
 * differed. Attributes `<type>.boot.*` and `boot:` selectors come out of it.
 */
import { fromBase64, toBase64 } from '../bytes/encoding.ts'
import { AttestationError, type CodeOf, type ErrorCode, VerifyError } from '../errors.ts'
import { evaluateBootState, type BootState } from '../eventlog/boot-state.ts'
import { checkReplay } from '../eventlog/check-replay.ts'
import { replayEventLog } from '../eventlog/replay.ts'
import type { Platform } from '../platform.ts'
import { type BootPolicy, PCR_BANKS, type PcrBankName } from '../attestor/boot-policy.ts'
import { verifyQuote } from '../quote/verify.ts'
import { parseTpmsAttest } from '../tpm2/attest.ts'
import { parseTpmtSignature } from '../tpm2/signature.ts'
import type { Selector } from '../attestor/attributes.ts'
import type { CheckLog } from '../attestor/checks.ts'
import { BOOT_STATES_PER_LOG, decodeEventLogText, eventLogEntry } from './event-log-cache.ts'
import { decodeBounded } from '../attestor/decode.ts'
import { parseTpmKeyCached } from '../attestor/tpm-key-cache.ts'

/** Bytes of the quote nonce (TPM2B_DATA of a SHA-256 AK holds up to 32+2). */
export const BOOT_NONCE_BYTES = 32

export const BOOT_ANSWER_LIMITS = {
  attest: 1024,
  signature: 1024,
  /** a quoted PCR value (SHA-512) */
  pcrValue: 64,
  pcrValues: 96,
  /** the event log, decoded; the server's request body bound (256 KiB) is the outer limit */
  eventLog: 176 * 1024,
} as const

/** The PCRs quoted by default: the sha256 bank's firmware, Secure Boot and boot loader PCRs. */
const DEFAULT_SHA256_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

export interface BootSelection {
  readonly [k: string]: string | number[]
  readonly bank: PcrBankName
  readonly pcrs: number[]
}

/** Session state of one boot challenge (JSON-safe). */
export interface BootSession {
  readonly [k: string]: string | BootSelection[]
  readonly nonce: string
  /** the attested AK (TPMT_PUBLIC), base64 */
  readonly akPub: string
  readonly selection: BootSelection[]
}

/** What the answer carries under `Quote`. */
export interface BootAnswer {
  readonly attest: Uint8Array
  readonly signature: Uint8Array
  readonly pcrValues: readonly Uint8Array[]
  readonly eventLog: Uint8Array
}

export interface BootFacts {
  readonly attributes: Record<string, string>
  readonly selectors: Selector[]
}

/** The selection a policy asks for: sha256 PCRs 0-9, plus every bank and PCR `pcrs:` names; banks in TPM_ALG_ID order. */
export function bootSelection(policy: BootPolicy): BootSelection[] {
  let selection = SELECTIONS.get(policy)
  if (!selection) {
    selection = computeSelection(policy)
    SELECTIONS.set(policy, selection)
  }
  return selection.map((x) => ({ bank: x.bank, pcrs: [...x.pcrs] }))
}

/** A policy's selection, once per (immutable, validated) policy object. */
const SELECTIONS = new WeakMap<BootPolicy, readonly BootSelection[]>()

function computeSelection(policy: BootPolicy): BootSelection[] {
  const banks = new Map<PcrBankName, Set<number>>([['sha256', new Set(DEFAULT_SHA256_PCRS)]])
  for (const [bank, byIndex] of Object.entries(policy.pcrs) as [PcrBankName, Record<number, readonly string[]>][]) {
    const set = banks.get(bank) ?? new Set<number>()
    for (const i of Object.keys(byIndex)) set.add(Number(i))
    banks.set(bank, set)
  }
  return [...banks.entries()]
    .sort((a, b) => PCR_BANKS[a[0]].alg - PCR_BANKS[b[0]].alg)
    .map(([bank, set]) => ({ bank, pcrs: [...set].sort((a, b) => a - b) }))
}

export function makeBootChallenge(
  policy: BootPolicy,
  akPub: Uint8Array,
  platform: Platform,
): { challenge: Record<string, unknown>; session: BootSession } {
  const b64 = platform.encodeBase64 ?? toBase64
  const nonce = b64(platform.crypto.randomBytes(BOOT_NONCE_BYTES))
  const selection = bootSelection(policy)
  const pcrs: Record<string, number[]> = {}
  for (const s of selection) pcrs[s.bank] = s.pcrs
  return { challenge: { Nonce: nonce, PCRs: pcrs }, session: { nonce, akPub: b64(akPub), selection } }
}

function malformed(message: string): AttestationError {
  return new AttestationError('ERR_BOOT_QUOTE_MALFORMED', message)
}

/** The answer's `Quote` object; undefined when absent (null or missing). */
export function decodeBootAnswer(
  v: unknown,
  what: string,
  platform?: Pick<Platform, 'decodeBase64' | 'eventLogs'>,
): BootAnswer | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v)) throw malformed(`${what}: expected an object`)
  const o = v as Record<string, unknown>
  const decode = platform?.decodeBase64
  const values = o.PCRValues
  if (!Array.isArray(values)) throw malformed(`${what}.PCRValues: expected an array of base64 strings`)
  if (values.length > BOOT_ANSWER_LIMITS.pcrValues)
    throw malformed(`${what}.PCRValues: ${values.length} values exceed the bound of ${BOOT_ANSWER_LIMITS.pcrValues}`)
  return {
    attest: decodeBounded(o.Attest, `${what}.Attest`, BOOT_ANSWER_LIMITS.attest, decode),
    signature: decodeBounded(o.Signature, `${what}.Signature`, BOOT_ANSWER_LIMITS.signature, decode),
    pcrValues: values.map((x, i) => decodeBounded(x, `${what}.PCRValues[${i}]`, BOOT_ANSWER_LIMITS.pcrValue, decode)),
    eventLog: decodeEventLogText(o.EventLog, `${what}.EventLog`, BOOT_ANSWER_LIMITS.eventLog, platform),
  }
}

const QUOTE_CODES: Readonly<Record<string, CodeOf<'attestation'>>> = {
  ERR_QUOTE_NONCE_MISMATCH: 'ERR_BOOT_QUOTE_NONCE',
  ERR_QUOTE_PCR_DIGEST_MISMATCH: 'ERR_BOOT_QUOTE_SELECTION',
  ERR_QUOTE_PCR_SELECTION: 'ERR_BOOT_QUOTE_SELECTION',
}

const BANK_OF_ALG = new Map((Object.keys(PCR_BANKS) as PcrBankName[]).map((b) => [PCR_BANKS[b].alg, b]))
function bankOf(alg: number): PcrBankName | undefined {
  return BANK_OF_ALG.get(alg)
}

function describeSelection(s: readonly { bank: string; pcrs: readonly number[] }[]): string {
  return s.map((x) => `${x.bank} PCRs ${x.pcrs.join(',')}`).join('; ') || 'no PCRs'
}

function fail(log: CheckLog, name: string, code: ErrorCode, message: string): never {
  throw log.fail(name, code, message)
}

/** Checks the boot answer of one attestor (`type`, whose selectors are of `selectorType`) against its session and policy. */
export async function checkBootAnswer(
  log: CheckLog,
  type: string,
  session: BootSession,
  policy: BootPolicy,
  answer: BootAnswer | undefined,
  platform: Platform,
  selectorType: string = type,
): Promise<BootFacts> {
  const p = `${type}.boot`
  if (!answer) fail(log, `${p}.quote`, 'ERR_BOOT_QUOTE_MISSING', `${type}: the policy has a boot block and the answer carries no Quote`)

  // 1. the quote: by the attested AK, over this session's nonce, of the PCR values given
  const quoted = await log.run(
    `${p}.quote`,
    async () => {
      const attest = parseTpmsAttest(answer.attest, 'boot quote')
      const signature = parseTpmtSignature(answer.signature, 'boot quote signature')
      const ak = parseTpmKeyCached(platform.decodeBase64?.(session.akPub) ?? fromBase64(session.akPub), 'AK public', platform).pub
      try {
        return await verifyQuote(
          {
            ak,
            attest,
            signature,
            nonce: platform.decodeBase64?.(session.nonce) ?? fromBase64(session.nonce),
            pcrValues: answer.pcrValues,
          },
          { platform },
        )
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e
        const code = QUOTE_CODES[e.code]
        if (code) throw new AttestationError(code, `${type} boot quote: ${e.message}`)
        if (e.code === 'ERR_TPM2_SIGNATURE_INVALID' || e.code === 'ERR_TPM2_SCHEME_MISMATCH') {
          throw new AttestationError('ERR_BOOT_QUOTE_SIGNATURE', `${type} boot quote: not signed by the attested AK (${e.message})`)
        }
        throw new AttestationError('ERR_BOOT_QUOTE_MALFORMED', `${type} boot quote: ${e.message}`)
      }
    },
    undefined,
    () => 'TPM2_Quote by the attested AK over the session nonce; PCR values hash to pcrDigest',
  )
  const got = quoted.pcrSelect.map((s) => ({ bank: bankOf(s.hash) ?? `alg 0x${s.hash.toString(16)}`, pcrs: [...s.pcrs] }))
  const want = describeSelection(session.selection)
  if (describeSelection(got) !== want) {
    fail(
      log,
      `${p}.quote.selection`,
      'ERR_BOOT_QUOTE_SELECTION',
      `${type} boot quote covers ${describeSelection(got)}; the challenge asked for ${want}`,
    )
  }
  log.pass(`${p}.quote.selection`, want)
  // the quoted values as `bank.index`, in quote order
  const keys: string[] = []
  const expected: { alg: number; pcr: number; value: Uint8Array }[] = []
  let k = 0
  for (const s of quoted.pcrSelect) {
    for (const pcr of s.pcrs) {
      keys.push(`${bankOf(s.hash)}.${pcr}`)
      expected.push({ alg: s.hash, pcr, value: quoted.pcrValues[k++]! })
    }
  }

  // 2. the event log replays to the quoted values; its boot state is read from the PCRs it verified
  const entry = log.runSync(
    `${p}.eventlog`,
    () => eventLogEntry(answer.eventLog, platform),
    undefined,
    (e) => `${e.log.events.length} events (${e.log.format})`,
  )
  const parsed = entry.log
  entry.replay ??= replayEventLog(parsed, platform)
  const replay = await entry.replay
  const check = await checkReplay(replay, expected, { quirks: policy.quirks, platform })
  if (!check.ok) {
    const bad = check.pcrs.find((c) => c.status === 'mismatch')
    fail(
      log,
      `${p}.replay`,
      'ERR_BOOT_REPLAY_MISMATCH',
      bad
        ? `${type}: the event log does not replay to the quoted PCR ${bad.pcr} of the ${bad.bank} bank: the log gives ${bad.found ?? 'nothing'}, the quote has ${bad.expected}`
        : `${type}: the event log extends none of the quoted PCRs (${want})`,
    )
  }
  // each quoted value in hex, from the check (one PcrCheck per expected value, in order; a match
  // reuses the replayed value's hex, which a cached replay writes once)
  const values = new Map<string, string>()
  for (let i = 0; i < keys.length; i++) values.set(keys[i]!, check.pcrs[i]!.expected)
  log.pass(
    `${p}.replay`,
    `verified PCRs ${check.verifiedPcrs.join(',')}${check.quirksUsed.length ? `; quirks ${check.quirksUsed.join(',')}` : ''}`,
  )
  const stateKey = `${check.verifiedPcrs.join(',')}|${check.quirksUsed.join(',')}|${policy.quirks.join(',')}`
  let statePromise = entry.states.get(stateKey)
  if (!statePromise) {
    statePromise = evaluateBootState(parsed, {
      verifiedPcrs: check.verifiedPcrs,
      quirksUsed: check.quirksUsed,
      quirks: policy.quirks,
      platform,
    })
    if (entry.states.size < BOOT_STATES_PER_LOG) entry.states.set(stateKey, statePromise)
  }
  const state = await statePromise

  // 3. the policy
  checkSecureBoot(log, p, type, policy, state)
  checkPcrs(log, p, type, policy, values)
  checkDatabases(log, p, type, policy, state)
  checkBootApplications(log, p, type, policy, state)
  checkKernelCommandLine(log, p, type, policy, state)
  return bootFacts(type, selectorType, state, values)
}

function checkSecureBoot(log: CheckLog, p: string, type: string, policy: BootPolicy, state: BootState): void {
  if (policy.secureBoot === 'required' && state.secureBoot !== 'enabled') {
    fail(
      log,
      `${p}.secure_boot`,
      'ERR_BOOT_SECURE_BOOT',
      `${type}: the policy requires Secure Boot; the SecureBoot variable measured in PCR 7 of the verified log is ${state.secureBoot === 'disabled' ? 'off' : 'not measured (PCR 7 unverified or no SecureBoot event)'}`,
    )
  }
  log.pass(`${p}.secure_boot`, state.secureBoot)
}

function checkPcrs(log: CheckLog, p: string, type: string, policy: BootPolicy, values: Map<string, string>): void {
  let n = 0
  for (const [bank, byIndex] of Object.entries(policy.pcrs) as [PcrBankName, Record<string, readonly string[]>][]) {
    for (const [index, allowed] of Object.entries(byIndex)) {
      const v = values.get(`${bank}.${index}`)
      const hex = v ?? 'not quoted'
      if (v === undefined || !allowed.includes(hex)) {
        fail(
          log,
          `${p}.pcrs`,
          'ERR_BOOT_PCR_NOT_ALLOWED',
          `${type}: PCR ${index} of the ${bank} bank is ${hex}, not one of the ${allowed.length} allowed values`,
        )
      }
      n++
    }
  }
  log.pass(`${p}.pcrs`, `${n} PCR values allowed by the policy`)
}

/** The dbx hashes and certificate fingerprints of a boot state, once per state (states are cached with their log). */
const DBX_SETS = new WeakMap<BootState, ReadonlySet<string>>()
function dbxEntries(state: BootState): ReadonlySet<string> {
  let set = DBX_SETS.get(state)
  if (!set) {
    const entries = new Set(state.dbx?.sha256Hashes)
    for (const c of state.dbx?.certificates ?? []) entries.add(c.sha256 ?? '')
    set = entries
    DBX_SETS.set(state, set)
  }
  return set
}

function checkDatabases(log: CheckLog, p: string, type: string, policy: BootPolicy, state: BootState): void {
  const dbCerts = state.db?.certificates ?? []
  const name = (c: { sha256?: string; subject?: string }) => `${c.subject ? `"${c.subject}" ` : ''}(SHA-256 ${c.sha256 ?? 'unknown'})`
  if (policy.db.allowed) {
    if (!state.db)
      fail(
        log,
        `${p}.db`,
        'ERR_BOOT_DB_NOT_ALLOWED',
        `${type}: the policy lists allowed db certificates and PCR 7 of the verified log measures no db`,
      )
    for (const c of dbCerts) {
      if (!policy.db.allowed.includes(c.sha256 ?? '')) {
        fail(
          log,
          `${p}.db`,
          'ERR_BOOT_DB_NOT_ALLOWED',
          `${type}: the db (PCR 7) holds certificate ${name(c)}, which the policy does not allow`,
        )
      }
    }
  }
  for (const c of dbCerts) {
    if (policy.db.forbidden?.includes(c.sha256 ?? '')) {
      fail(log, `${p}.db`, 'ERR_BOOT_DB_FORBIDDEN', `${type}: the db (PCR 7) holds certificate ${name(c)}, which the policy forbids`)
    }
  }
  log.pass(`${p}.db`, `${dbCerts.length} db certificates`)
  const dbx = dbxEntries(state)
  for (const h of policy.dbx.required ?? []) {
    if (!dbx.has(h)) fail(log, `${p}.dbx`, 'ERR_BOOT_DBX_MISSING', `${type}: the dbx (PCR 7) lacks the required entry ${h}`)
  }
  for (const app of state.bootApplications) {
    const d = app.digests.sha256
    if (d && dbx.has(d)) {
      fail(
        log,
        `${p}.dbx`,
        'ERR_BOOT_DBX_HIT',
        `${type}: boot application ${app.devicePath || `of event ${app.event}`} (PCR 4, sha256 ${d}) is revoked by the dbx`,
      )
    }
  }
  for (const a of state.authorities) {
    if (a.sha256 && dbx.has(a.sha256)) {
      fail(log, `${p}.dbx`, 'ERR_BOOT_DBX_HIT', `${type}: authority ${name(a)} of event ${a.event} (PCR 7) is revoked by the dbx`)
    }
  }
  log.pass(`${p}.dbx`, `${dbx.size} dbx entries; no boot application or authority revoked`)
}

function checkBootApplications(log: CheckLog, p: string, type: string, policy: BootPolicy, state: BootState): void {
  const allowed = policy.bootApplications
  if (!allowed) return
  for (const app of state.bootApplications) {
    const d = app.digests.sha256 ?? 'none'
    if (!allowed.includes(d)) {
      fail(
        log,
        `${p}.boot_applications`,
        'ERR_BOOT_APPLICATION_NOT_ALLOWED',
        `${type}: boot application ${app.devicePath || `of event ${app.event}`} (PCR 4, sha256 ${d}) is not one the policy allows`,
      )
    }
  }
  log.pass(`${p}.boot_applications`, `${state.bootApplications.length} boot applications allowed`)
}

function checkKernelCommandLine(log: CheckLog, p: string, type: string, policy: BootPolicy, state: BootState): void {
  if (policy.kernelCommandLine === undefined) return
  const re = new RegExp(`^(?:${policy.kernelCommandLine})$`)
  if (state.kernelCommandLines.length === 0) {
    fail(
      log,
      `${p}.kernel_cmdline`,
      'ERR_BOOT_CMDLINE',
      `${type}: the policy has a kernel command line pattern and the verified log measures none`,
    )
  }
  for (const line of state.kernelCommandLines) {
    if (!re.test(line)) {
      fail(
        log,
        `${p}.kernel_cmdline`,
        'ERR_BOOT_CMDLINE',
        `${type}: kernel command line ${JSON.stringify(line.slice(0, 256))} does not match the policy pattern`,
      )
    }
  }
  log.pass(`${p}.kernel_cmdline`, `${state.kernelCommandLines.length} command lines match`)
}

function bootFacts(type: string, selectorType: string, state: BootState, values: Map<string, string>): BootFacts {
  const p = `${type}.boot`
  const attributes: Record<string, string> = { [`${p}.secure_boot`]: state.secureBoot }
  const selectors: Selector[] = [{ type: selectorType, value: `boot:secure_boot:${state.secureBoot}` }]
  for (const [key, hex] of values) {
    attributes[`${p}.pcr.${key}`] = hex
    const dot = key.indexOf('.')
    selectors.push({ type: selectorType, value: `boot:pcr:${key.slice(0, dot)}:${key.slice(dot + 1)}:${hex}` })
  }
  const pk = state.pk?.certificates[0]?.sha256
  if (pk) {
    attributes[`${p}.pk.fingerprint`] = pk
    selectors.push({ type: selectorType, value: `boot:pk:${pk}` })
  }
  const db = (state.db?.certificates ?? []).map((c) => c.sha256).filter((x): x is string => x !== undefined)
  if (state.db) attributes[`${p}.db.fingerprints`] = [...db].sort().join(',')
  for (const fp of db) selectors.push({ type: selectorType, value: `boot:db:${fp}` })
  return { attributes, selectors }
}
