// Compares a replayed log with PCR values a TPM reported (a quote's PCRs). The outcome is per PCR
// and bank, so a policy can say which PCRs it needs; a quirk is tried only when the caller names it.
import { concatBytes, bytesEqual } from '../bytes/equal.ts'
import { toHex } from '../bytes/encoding.ts'
import { EventLogError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { bankName } from './event-types.ts'
import { digestOf } from './hash.ts'
import { QUIRK_EXTENSIONS, type QuirkName } from './quirks.ts'
import { initialPcr, type ReplayResult } from './replay.ts'

export interface ExpectedPcr {
  /** TPM_ALG_ID of the bank */
  readonly alg: number
  readonly pcr: number
  readonly value: Uint8Array
}

export type PcrCheckStatus =
  /** the log replays to the value */
  | 'match'
  /** the log replays to the value once the named quirk is applied */
  | 'match-with-quirk'
  /** the log extends this PCR and replays to another value */
  | 'mismatch'
  /** the log does not extend this PCR and the value is not its reset value (e.g. IMA's PCR 10): the log says nothing about it */
  | 'not-in-log'
  /** the log has no digests for this bank, or vouch cannot compute its hash */
  | 'bank-not-replayed'

export interface PcrCheck {
  readonly bank: string
  readonly alg: number
  readonly pcr: number
  /** hex */
  readonly expected: string
  /** hex; the replayed value (with the quirk for 'match-with-quirk'), absent when nothing was replayed */
  readonly found?: string
  readonly status: PcrCheckStatus
  readonly quirk?: QuirkName
}

export interface ReplayCheck {
  /** no PCR mismatches (quirks allowed) and at least one PCR the log extends matched */
  readonly ok: boolean
  readonly pcrs: readonly PcrCheck[]
  /**
   * PCR indices whose events count: the log extends them, every checked bank of that PCR matched
   * and at least one did. Boot state is built from these PCRs' events only.
   */
  readonly verifiedPcrs: readonly number[]
  readonly quirksUsed: readonly QuirkName[]
}

export interface CheckReplayOptions {
  /** quirks the policy tolerates; none by default */
  readonly quirks?: readonly QuirkName[]
  readonly platform?: Platform
}

async function withQuirk(quirk: QuirkName, alg: number, start: Uint8Array, platform: Platform): Promise<Uint8Array> {
  let v = start
  for (const data of QUIRK_EXTENSIONS[quirk]?.data ?? [])
    v = await digestOf(alg, concatBytes(v, await digestOf(alg, data, platform)), platform)
  return v
}

/** Hex of replayed PCR values: a cached replay is compared with every quote of its log, so each value is written once. */
const REPLAYED_HEX = new WeakMap<Uint8Array, string>()
function replayedHex(v: Uint8Array): string {
  let hex = REPLAYED_HEX.get(v)
  if (hex === undefined) {
    hex = toHex(v)
    REPLAYED_HEX.set(v, hex)
  }
  return hex
}

/** Checks each expected PCR value against the replay. Never throws for a mismatch: see `ok` and `pcrs`. */
export async function checkReplay(
  replay: ReplayResult,
  expected: readonly ExpectedPcr[],
  options: CheckReplayOptions = {},
): Promise<ReplayCheck> {
  const platform = options.platform ?? defaultPlatform()
  const quirks = options.quirks ?? []
  const extended = new Set(replay.extendedPcrs)
  const pcrs: PcrCheck[] = []
  const used = new Set<QuirkName>()
  for (const want of expected) {
    const bank = bankName(want.alg)
    const replayed = replay.banks.find((b) => b.alg === want.alg)
    if (!replayed?.replayed) {
      pcrs.push({ bank, alg: want.alg, pcr: want.pcr, expected: toHex(want.value), status: 'bank-not-replayed' })
      continue
    }
    const logged = replayed.pcrs.get(want.pcr)
    const found = logged ?? initialPcr(want.pcr, want.value.length, replay.startupLocality, replay.hcrtm)
    const foundHex = logged ? replayedHex(logged) : toHex(found)
    if (found.length === want.value.length && bytesEqual(found, want.value)) {
      // equal bytes: the expected value's hex is the replayed one's
      pcrs.push({ bank, alg: want.alg, pcr: want.pcr, expected: foundHex, found: foundHex, status: 'match' })
      continue
    }
    const base = { bank, alg: want.alg, pcr: want.pcr, expected: toHex(want.value) }
    if (!extended.has(want.pcr)) {
      pcrs.push({ ...base, found: foundHex, status: 'not-in-log' })
      continue
    }
    let matched: PcrCheck | undefined
    for (const quirk of quirks) {
      if (QUIRK_EXTENSIONS[quirk]?.pcr !== want.pcr) continue
      const q = await withQuirk(quirk, want.alg, found, platform)
      if (bytesEqual(q, want.value)) {
        matched = { ...base, found: toHex(q), status: 'match-with-quirk', quirk }
        used.add(quirk)
        break
      }
    }
    pcrs.push(matched ?? { ...base, found: foundHex, status: 'mismatch' })
  }
  // per PCR: whether any bank was checked, and whether every checked bank matched
  const checked = new Map<number, boolean>()
  for (const c of pcrs) {
    if (c.status === 'bank-not-replayed') continue
    const ok = c.status === 'match' || c.status === 'match-with-quirk'
    checked.set(c.pcr, (checked.get(c.pcr) ?? true) && ok)
  }
  const verified = replay.extendedPcrs.filter((index) => checked.get(index) === true)
  const ok = !pcrs.some((c) => c.status === 'mismatch') && verified.length > 0
  return { ok, pcrs, verifiedPcrs: verified, quirksUsed: [...used] }
}

/** Throws ERR_EVENTLOG_REPLAY_MISMATCH naming the first mismatching PCR unless `check.ok`. */
export function assertReplayMatches(check: ReplayCheck): void {
  if (check.ok) return
  const bad = check.pcrs.find((c) => c.status === 'mismatch')
  if (bad) {
    throw new EventLogError(
      'ERR_EVENTLOG_REPLAY_MISMATCH',
      `PCR ${bad.pcr} (${bad.bank}) replays to ${bad.found}, the TPM reported ${bad.expected}`,
      { detail: { pcr: bad.pcr, bank: bad.bank } },
    )
  }
  throw new EventLogError('ERR_EVENTLOG_REPLAY_MISMATCH', 'no PCR extended by the event log is among the quoted PCRs of a replayable bank')
}
