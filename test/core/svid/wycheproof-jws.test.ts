import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SpiffeError } from '../../../core/errors.ts'
import { parseJwtBundle } from '../../../core/svid/jwt-bundle.ts'
import { compactVerify, importJWK } from 'jose'
import { JWT_SVID_ALGORITHMS, verifyCompactJws } from '../../../core/svid/jws.ts'
import type { Platform } from '../../../core/platform.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'

/**
 * Wycheproof JWS vectors through the JWT-SVID signature layer: the group's public key is loaded
 * the way a SPIFFE JWT bundle is (parseJwtBundle: only `use` absent/sig/jwt-svid, EC/RSA only),
 * then verifyCompactJws (compact form, alg allow-list, key type vs alg, signature).
 * `valid` cases must verify unless their alg is outside the JWT-SVID allow-list (HS256: then they
 * must be refused); every `invalid` case must be refused.
 */
interface Test {
  tcId: number
  comment: string
  jws: string | Record<string, unknown>
  result: 'valid' | 'invalid' | 'acceptable'
  flags: string[]
}
interface Group {
  public?: Record<string, unknown>
  private: Record<string, unknown>
  tests: Test[]
}
const file = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/wycheproof-jose/json_web_signature_test.json'), 'utf8')) as {
  testGroups: Group[]
}

function headerAlg(jws: string): string | undefined {
  try {
    return JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')).alg
  } catch {
    return undefined
  }
}

async function outcome(group: Group, test: Test, platform?: Platform): Promise<'accepted' | 'rejected'> {
  const key = { ...(group.public ?? group.private) }
  const kid = typeof key.kid === 'string' && key.kid !== '' ? key.kid : 'k'
  let bundle
  try {
    bundle = parseJwtBundle('wycheproof.test', JSON.stringify({ keys: [{ ...key, kid }] }))
  } catch (e) {
    if (e instanceof SpiffeError) return 'rejected'
    throw e
  }
  const jwk = bundle.findAuthority(kid)
  if (!jwk) return 'rejected'
  if (typeof test.jws !== 'string') return 'rejected' // JSON serialization: not a compact string
  try {
    await verifyCompactJws(test.jws, jwk, kid, platform)
    return 'accepted'
  } catch (e) {
    if (e instanceof SpiffeError) return 'rejected'
    throw e
  }
}

/**
 * Deliberate differences (docs/spiffe-conformance.md): these RFC 7520 "valid" cases verify with a
 * key whose JWK `alg` names another algorithm (PS256 key, PS384 token; "ES521" key, ES512 token).
 * vouch binds a key to its JWK `alg` (RFC 7517 §4.4), as Wycheproof itself expects for tcId
 * 332-340 (a PS512 key used with RS256/384/512 and PS256/384 is invalid), so it refuses them.
 */
const KEY_ALG_MISMATCH = new Set([346, 347, 350, 351])

describe('Wycheproof json_web_signature_test.json (test/vectors/wycheproof-jose)', () => {
  it('every case: valid accepted (allowed algs) / refused (other algs), invalid refused', async () => {
    const counts = { validAccepted: 0, validRefusedByPolicy: 0, validRefusedKeyAlg: 0, invalidRefused: 0 }
    const wrong: string[] = []
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const got = await outcome(g, t)
        const alg = typeof t.jws === 'string' ? headerAlg(t.jws) : undefined
        const allowed = (JWT_SVID_ALGORITHMS as readonly (string | undefined)[]).includes(alg)
        const want = t.result === 'valid' && allowed && !KEY_ALG_MISMATCH.has(t.tcId) ? 'accepted' : 'rejected'
        if (got !== want) wrong.push(`tcId ${t.tcId} (${t.comment}, alg ${alg}, ${t.result}): ${got}`)
        else if (t.result !== 'valid') counts.invalidRefused++
        else if (KEY_ALG_MISMATCH.has(t.tcId)) counts.validRefusedKeyAlg++
        else if (allowed) counts.validAccepted++
        else counts.validRefusedByPolicy++
      }
    }
    expect(wrong).toEqual([])
    // 401 cases in all; the split is recorded in docs/spiffe-conformance.md
    expect(counts.validAccepted + counts.validRefusedByPolicy + counts.validRefusedKeyAlg + counts.invalidRefused).toBe(401)
    expect(counts).toEqual({ validAccepted: 32, validRefusedByPolicy: 10, validRefusedKeyAlg: 4, invalidRefused: 355 })
  })

  it('the node:crypto provider reaches the same verdict as Web Crypto on every case, and jose agrees on every signature vouch checks', async () => {
    const node = createNodePlatform()
    const disagreements: string[] = []
    let compared = 0
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const web = await outcome(g, t)
        const viaNode = await outcome(g, t, node)
        if (web !== viaNode) disagreements.push(`tcId ${t.tcId}: web crypto ${web}, node:crypto ${viaNode}`)
        const alg = typeof t.jws === 'string' ? headerAlg(t.jws) : undefined
        if (
          typeof t.jws !== 'string' ||
          !(JWT_SVID_ALGORITHMS as readonly (string | undefined)[]).includes(alg) ||
          KEY_ALG_MISMATCH.has(t.tcId)
        )
          continue
        // jose as the peer: the same key material, exactly the token's alg
        const k = (g.public ?? g.private) as Record<string, unknown>
        const material = k.kty === 'EC' ? { kty: 'EC', crv: k.crv, x: k.x, y: k.y } : { kty: 'RSA', n: k.n, e: k.e }
        let jose: 'accepted' | 'rejected'
        try {
          await compactVerify(t.jws, await importJWK(material as never, alg), { algorithms: [alg!] })
          jose = 'accepted'
        } catch {
          jose = 'rejected'
        }
        // vouch refuses more (bundle rules: use, key_ops, alg binding); never accepts what jose refuses
        if (web === 'accepted' && jose !== 'accepted') disagreements.push(`tcId ${t.tcId}: vouch accepted, jose refused`)
        if (jose === 'accepted' && web === 'rejected' && t.result === 'valid')
          disagreements.push(`tcId ${t.tcId}: jose accepted a valid case vouch refused`)
        compared++
      }
    }
    expect(disagreements).toEqual([])
    expect(compared).toBeGreaterThan(300)
  })
})
