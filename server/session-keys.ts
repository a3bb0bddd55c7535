/**
 * The sealed-session keyring from a file (config `sessionKeys`) or the environment
 * (VOUCH_SESSION_KEYS holds the list itself): a JSON or YAML list of
 *   { id: k2, key: <base64 of 32 bytes>, seal: true }   # the one sealing key
 *   { id: k1, key: <base64> }                           # still opens (rotation)
 *   { id: k0, key: <base64>, retired: true }            # opens, but its sessions are refused
 * Every replica must hold the same list. Errors name the entry, never a key.
 */
import { parse as parseYaml } from 'yaml'
import { fromBase64 } from '../core/bytes/encoding.ts'
import { makeSessionKeyring, type SessionKey, type SessionKeyring } from '../core/session/sealed.ts'
import { ConfigError } from './config.ts'

export function parseSessionKeys(text: string, source: string): SessionKeyring {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch {
    throw new ConfigError(source, 'not a JSON or YAML list')
  }
  if (!Array.isArray(doc) || doc.length === 0) throw new ConfigError(source, 'expected a non-empty list of {id, key, seal}')
  const keys: SessionKey[] = doc.map((e: unknown, i) => {
    if (typeof e !== 'object' || e === null) throw new ConfigError(`${source}[${i}]`, 'expected a mapping {id, key, seal}')
    const { id, key, seal, retired } = e as Record<string, unknown>
    if (typeof id !== 'string') throw new ConfigError(`${source}[${i}].id`, 'expected a string')
    let bytes: Uint8Array
    try {
      if (typeof key !== 'string') throw new Error()
      bytes = fromBase64(key)
    } catch {
      throw new ConfigError(`${source}[${i}].key`, 'expected base64 of 32 bytes')
    }
    if (seal !== undefined && typeof seal !== 'boolean') throw new ConfigError(`${source}[${i}].seal`, 'expected true or false')
    if (retired !== undefined && typeof retired !== 'boolean') throw new ConfigError(`${source}[${i}].retired`, 'expected true or false')
    return { id, key: bytes, seal: seal === true, retired: retired === true }
  })
  try {
    return makeSessionKeyring(keys)
  } catch (e) {
    throw new ConfigError(source, (e as Error).message)
  }
}
