/**
 * The `boot` block of an attestor's policy config (measured boot, core/attestation/boot.ts): its
 * shape, its validation and the attributes it adds. An attestor that quotes with an attested AK
 * accepts the block (`Attestor.boot`). Problems are reported through `add(path, message)` like the
 * rest of the policy document.
 */
import { isQuirkName, QUIRKS, type QuirkName } from '../eventlog/quirks.ts'

/** The PCR banks a boot policy may name, lowercase as in `pcrs:`. */
export type PcrBankName = 'sha1' | 'sha256' | 'sha384' | 'sha512'

/**
 * `config.boot` of an attestor. Hex values are lowercase. Every list is an allow list unless its
 * name says otherwise; an absent key checks nothing.
 */
export interface BootPolicy {
  /** `required`: the verified log must show the SecureBoot variable set to 1 */
  readonly secureBoot: 'required' | 'optional'
  /** allowed values per bank and PCR index */
  readonly pcrs: Readonly<Partial<Record<PcrBankName, Readonly<Record<number, readonly string[]>>>>>
  /** SHA-256 fingerprints of the certificates the db may hold (allowed) and may not hold (forbidden) */
  readonly db: { readonly allowed?: readonly string[]; readonly forbidden?: readonly string[] }
  /** SHA-256 entries the dbx must hold (revocations that must be applied) */
  readonly dbx: { readonly required?: readonly string[] }
  /** allowed SHA-256 (Authenticode) digests of boot applications */
  readonly bootApplications?: readonly string[]
  /** a regular expression every measured kernel command line must match (whole line) */
  readonly kernelCommandLine?: string
  /** event log quirks tolerated (core/eventlog/quirks.ts) */
  readonly quirks: readonly QuirkName[]
}

export const PCR_BANKS: Readonly<Record<PcrBankName, { alg: number; size: number }>> = {
  sha1: { alg: 0x0004, size: 20 },
  sha256: { alg: 0x000b, size: 32 },
  sha384: { alg: 0x000c, size: 48 },
  sha512: { alg: 0x000d, size: 64 },
}

/** Upper bounds: a hostile policy costs little. */
export const BOOT_POLICY_LIMITS = { valuesPerList: 4096, patternLength: 1024 } as const

type Add = (path: string, message: string) => void
type Obj = Record<string, unknown>

const KEYS = ['secureBoot', 'pcrs', 'db', 'dbx', 'bootApplications', 'kernelCommandLine', 'quirks'] as const

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function keys(add: Add, path: string, o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) add(`${path}.${k}`, `unknown key "${k}"; expected one of ${allowed.join(', ')}`)
}

/** A list of lowercase hex strings of `bytes` bytes (upper case accepted and lowered). */
function hexList(add: Add, path: string, v: unknown, bytes: number): string[] | undefined {
  if (!Array.isArray(v)) {
    add(path, `expected an array of ${bytes * 2}-digit hex strings`)
    return undefined
  }
  if (v.length > BOOT_POLICY_LIMITS.valuesPerList) {
    add(path, `${v.length} values exceed the maximum of ${BOOT_POLICY_LIMITS.valuesPerList}`)
    return undefined
  }
  const out: string[] = []
  v.forEach((x, i) => {
    if (typeof x !== 'string' || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(x)) {
      add(`${path}[${i}]`, `expected ${bytes * 2} hex digits (${bytes} bytes), found ${JSON.stringify(x)}`)
    } else out.push(x.toLowerCase())
  })
  return out
}

function pcrs(add: Add, path: string, v: unknown): BootPolicy['pcrs'] {
  if (v === undefined) return {}
  if (!isObj(v)) {
    add(path, 'expected a mapping of bank (sha1, sha256, sha384, sha512) to PCR index to allowed values')
    return {}
  }
  const out: Partial<Record<PcrBankName, Record<number, string[]>>> = {}
  for (const [bank, byIndex] of Object.entries(v)) {
    const bp = `${path}.${bank}`
    if (!Object.hasOwn(PCR_BANKS, bank)) {
      add(bp, `unknown PCR bank "${bank}"; expected one of ${Object.keys(PCR_BANKS).join(', ')}`)
      continue
    }
    if (!isObj(byIndex)) {
      add(bp, 'expected a mapping of PCR index (0-23) to a list of allowed values')
      continue
    }
    const m: Record<number, string[]> = {}
    for (const [index, values] of Object.entries(byIndex)) {
      const n = Number(index)
      if (!/^\d{1,2}$/.test(index) || n > 23) {
        add(`${bp}.${index}`, `PCR index must be 0 to 23, found "${index}"`)
        continue
      }
      const list = hexList(add, `${bp}.${index}`, values, PCR_BANKS[bank as PcrBankName].size)
      if (list) m[n] = list
    }
    out[bank as PcrBankName] = m
  }
  return out
}

function lists<K extends string>(add: Add, path: string, v: unknown, names: readonly K[]): Partial<Record<K, string[]>> {
  if (v === undefined) return {}
  if (!isObj(v)) {
    add(path, `expected a mapping with ${names.join(' and/or ')}`)
    return {}
  }
  keys(add, path, v, names)
  const out: Partial<Record<K, string[]>> = {}
  for (const n of names) {
    if (v[n] === undefined) continue
    const l = hexList(add, `${path}.${n}`, v[n], 32)
    if (l) out[n] = l
  }
  return out
}

export function validateBootPolicy(add: Add, path: string, v: unknown): BootPolicy | undefined {
  if (!isObj(v)) {
    add(path, 'expected a mapping (secureBoot, pcrs, db, dbx, bootApplications, kernelCommandLine, quirks)')
    return undefined
  }
  keys(add, path, v, KEYS)
  let secureBoot: BootPolicy['secureBoot'] = 'optional'
  if (v.secureBoot !== undefined) {
    if (v.secureBoot === 'required' || v.secureBoot === 'optional') secureBoot = v.secureBoot
    else add(`${path}.secureBoot`, `expected "required" or "optional", found ${JSON.stringify(v.secureBoot)}`)
  }
  const out: {
    -readonly [K in keyof BootPolicy]: BootPolicy[K]
  } = {
    secureBoot,
    pcrs: pcrs(add, `${path}.pcrs`, v.pcrs),
    db: lists(add, `${path}.db`, v.db, ['allowed', 'forbidden'] as const),
    dbx: lists(add, `${path}.dbx`, v.dbx, ['required'] as const),
    quirks: [],
  }
  if (v.bootApplications !== undefined) {
    const l = hexList(add, `${path}.bootApplications`, v.bootApplications, 32)
    if (l) out.bootApplications = l
  }
  if (v.kernelCommandLine !== undefined) {
    const p = `${path}.kernelCommandLine`
    if (typeof v.kernelCommandLine !== 'string') add(p, 'expected a regular expression as a string')
    else if (v.kernelCommandLine.length > BOOT_POLICY_LIMITS.patternLength)
      add(p, `pattern of ${v.kernelCommandLine.length} characters exceeds ${BOOT_POLICY_LIMITS.patternLength}`)
    else {
      try {
        new RegExp(v.kernelCommandLine)
        out.kernelCommandLine = v.kernelCommandLine
      } catch (e) {
        add(p, `not a regular expression: ${(e as Error).message}`)
      }
    }
  }
  if (v.quirks !== undefined) {
    if (!Array.isArray(v.quirks)) add(`${path}.quirks`, `expected an array of quirk names (${QUIRKS.join(', ')})`)
    else {
      const q: QuirkName[] = []
      v.quirks.forEach((x, i) => {
        if (typeof x === 'string' && isQuirkName(x)) q.push(x)
        else add(`${path}.quirks[${i}]`, `unknown quirk ${JSON.stringify(x)}; expected one of ${QUIRKS.join(', ')}`)
      })
      out.quirks = q
    }
  }
  return out
}

/**
 * Attributes of an attestor with a `boot` policy (core/attestation/boot.ts), known only once the
 * quote is answered: secure boot state, every quoted PCR value, the PK and db fingerprints.
 */
export function bootAttributeKeys(type: string): string[] {
  const p = `${type}.boot`
  const keys = [`${p}.secure_boot`, `${p}.pk.fingerprint`, `${p}.db.fingerprints`]
  for (const bank of Object.keys(PCR_BANKS)) for (let i = 0; i < 24; i++) keys.push(`${p}.pcr.${bank}.${i}`)
  return keys
}
