/**
 * The test-only `join_token` attestor's policy config: `tokenHashes`, the SHA-256 (hex) of the
 * join tokens an operator issued. Built only from what `vouch/attestation` publishes.
 */
import { type ConfigContext, type ConfigObject, joinPath } from '../../../core/entries/attestation.ts'

export interface JoinTokenConfig {
  readonly type: 'join_token'
  readonly tokenHashes: readonly string[]
}

export const JOIN_TOKEN_CONFIG_REQUIRED = 'tokenHashes is required'

export function parseJoinTokenConfig(c: ConfigContext, path: string, cfg: ConfigObject): { tokenHashes: string[] } | undefined {
  const v = cfg.tokenHashes
  if (v === undefined) {
    c.add(path, JOIN_TOKEN_CONFIG_REQUIRED)
    return undefined
  }
  const p = joinPath(path, 'tokenHashes')
  if (!Array.isArray(v) || v.length === 0) {
    c.add(p, 'expected a non-empty array of SHA-256 hex digests')
    return undefined
  }
  const out: string[] = []
  v.forEach((h, i) => {
    if (typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) out.push(h)
    else c.add(joinPath(p, i), `expected 64 lowercase hex digits, found ${JSON.stringify(h)}`)
  })
  return out.length === v.length ? { tokenHashes: out } : undefined
}
