// Replay (TCG PC Client PFP §10.2.3): every PCR starts at zero, each event extends
// PCR := H(PCR || logged digest) in each bank, EV_NO_ACTION events extend nothing. PCR 0 starts at
// 00..0N when an EV_NO_ACTION "StartupLocality" event says the TPM was started from locality N
// (§10.4.5.3), and at 00..04 when the log holds an EV_EFI_HCRTM_EVENT (an H-CRTM reset PCR 0 from
// locality 4, §8.2.2).
import { concatBytes } from '../bytes/equal.ts'
import { toHex } from '../bytes/encoding.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { EV, bankName } from './event-types.ts'
import { bankHash, digestNow, digestOf } from './hash.ts'
import type { EventLog, TcgEvent } from './parse.ts'

export interface ReplayBank {
  /** TPM_ALG_ID */
  readonly alg: number
  /** `sha256`, ... */
  readonly name: string
  /** false when the bank cannot be replayed (see `reason`): `pcrs` is then empty */
  readonly replayed: boolean
  /** why a bank was not replayed: vouch cannot compute its hash (SM3_256, unknown), or an event lacks its digest */
  readonly reason?: 'unsupported-hash' | 'missing-digest'
  /** replayed value of each PCR the log extends (and of PCR 0 when its start value is set), by index */
  readonly pcrs: ReadonlyMap<number, Uint8Array>
}

export interface ReplayResult {
  readonly banks: readonly ReplayBank[]
  /** the locality of an EV_NO_ACTION StartupLocality event, if any */
  readonly startupLocality?: number
  /** the log holds an EV_EFI_HCRTM_EVENT */
  readonly hcrtm: boolean
  /** PCR indices the log extends (EV_NO_ACTION excluded), ascending */
  readonly extendedPcrs: readonly number[]
}

const STARTUP_LOCALITY = 'StartupLocality\0'

/** The locality of a StartupLocality EV_NO_ACTION event, else undefined. */
export function startupLocalityOf(event: TcgEvent): number | undefined {
  if (event.type !== EV.NO_ACTION || event.pcr !== 0 || event.data.length !== STARTUP_LOCALITY.length + 1) return undefined
  for (let i = 0; i < STARTUP_LOCALITY.length; i++) if (event.data[i] !== STARTUP_LOCALITY.charCodeAt(i)) return undefined
  return event.data[STARTUP_LOCALITY.length]
}

/** The value a PCR of `size` bytes starts at for this log. */
export function initialPcr(index: number, size: number, startupLocality: number | undefined, hcrtm: boolean): Uint8Array {
  const v = new Uint8Array(size)
  if (index === 0) {
    if (hcrtm) v[size - 1] = 4
    else if (startupLocality !== undefined) v[size - 1] = startupLocality
  }
  return v
}

/** The event's digest in bank `alg`, if it carries one. */
function digestFor(e: TcgEvent, alg: number): Uint8Array | undefined {
  for (let i = 0; i < e.digests.length; i++) if (e.digests[i]!.alg === alg) return e.digests[i]!.digest
  return undefined
}

/** Replays every bank of a parsed log that vouch can hash and every extending event carries. */
export async function replayEventLog(log: EventLog, platform: Platform = defaultPlatform()): Promise<ReplayResult> {
  let startupLocality: number | undefined
  let hcrtm = false
  const extended = new Set<number>()
  for (const e of log.events) {
    const loc = startupLocalityOf(e)
    if (loc !== undefined && startupLocality === undefined) startupLocality = loc
    if (e.type === EV.EFI_HCRTM_EVENT && e.pcr === 0) hcrtm = true
    if (e.type !== EV.NO_ACTION) extended.add(e.pcr)
  }
  const banks: ReplayBank[] = []
  for (const alg of log.banks) {
    const pcrs = new Map<number, Uint8Array>()
    if (!bankHash(alg)) {
      banks.push({ alg, name: bankName(alg), replayed: false, reason: 'unsupported-hash', pcrs })
      continue
    }
    if (log.events.some((e) => e.type !== EV.NO_ACTION && digestFor(e, alg) === undefined)) {
      // a hand-cut or truncated-bank log: the Spec ID event lists the bank, an event does not carry it
      banks.push({ alg, name: bankName(alg), replayed: false, reason: 'missing-digest', pcrs })
      continue
    }
    const size = (log.specId?.algorithms.find((a) => a.alg === alg)?.digestSize ?? 20) as number
    if (startupLocality !== undefined || hcrtm) pcrs.set(0, initialPcr(0, size, startupLocality, hcrtm))
    // PCR || digest in one reused buffer; a kernel extends without an await (SHA-1, SHA-256, SM3)
    let input = new Uint8Array(0)
    for (const e of log.events) {
      if (e.type === EV.NO_ACTION) continue
      const d = digestFor(e, alg)!
      const prev = pcrs.get(e.pcr) ?? initialPcr(e.pcr, size, startupLocality, hcrtm)
      const n = prev.length + d.length
      if (input.length !== n) input = new Uint8Array(n)
      input.set(prev, 0)
      input.set(d, prev.length)
      pcrs.set(e.pcr, digestNow(alg, input, platform) ?? (await digestOf(alg, concatBytes(prev, d), platform)))
    }
    banks.push({ alg, name: bankName(alg), replayed: true, pcrs: new Map([...pcrs].sort((a, b) => a[0] - b[0])) })
  }
  return { banks, startupLocality, hcrtm, extendedPcrs: [...extended].sort((a, b) => a - b) }
}

/** `{ sha256: { "0": "<hex>", ... }, ... }` for the replayed banks (the `vouch eventlog replay --output json` shape). */
export function replayToJson(result: ReplayResult): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  for (const b of result.banks) {
    if (!b.replayed) continue
    out[b.name] = Object.fromEntries([...b.pcrs].map(([i, v]) => [String(i), toHex(v)]))
  }
  return out
}
