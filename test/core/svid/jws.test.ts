import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parsePublicJwk } from '../../../core/svid/jwk.ts'
import { verifyCompactJws } from '../../../core/svid/jws.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url')

function token(header: Record<string, unknown>, alg: 'RS256' | 'ES256', key: ReturnType<typeof generateKeyPairSync>['privateKey']): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify({ sub: 'spiffe://td/x' }))}`
  const sig =
    alg === 'ES256' ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key)
  return `${input}.${b64u(sig)}`
}

describe('JWS signature layer', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ecJwk = parsePublicJwk(ec.publicKey.export({ format: 'jwk' }) as Record<string, unknown>, 'jwk')!

  for (const [name, platform] of [
    ['Web Crypto', undefined],
    ['node:crypto', createNodePlatform()],
  ] as const) {
    it(`${name}: an ES256 token verifies; a flipped signature bit does not`, async () => {
      const t = token({ alg: 'ES256' }, 'ES256', ec.privateKey)
      await expect(verifyCompactJws(t, ecJwk, 'k', platform)).resolves.toMatchObject({ alg: 'ES256' })
      const sig = Buffer.from(t.split('.')[2]!, 'base64url')
      sig[10]! ^= 1
      const bent = `${t.split('.').slice(0, 2).join('.')}.${b64u(sig)}`
      await expect(verifyCompactJws(bent, ecJwk, 'k', platform)).rejects.toMatchObject({
        code: 'ERR_JWT_SVID_SIGNATURE',
        message: 'signature does not verify with the bundle authority',
      })
    })
  }

  it('refuses crit and b64 headers before any signature work', async () => {
    for (const extra of [{ crit: ['exp'] }, { b64: false, crit: ['b64'] }, { b64: true }]) {
      const t = token({ alg: 'ES256', ...extra }, 'ES256', ec.privateKey)
      await expect(verifyCompactJws(t, ecJwk, 'k')).rejects.toMatchObject({
        code: 'ERR_JWT_SVID_INVALID',
        message: expect.stringMatching(/header parameter "(crit|b64)" is not supported/),
      })
    }
  })

  it('refuses RSA authorities below 2048 bits even with a good signature (RFC 7518 §3.3)', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const jwk = parsePublicJwk(small.publicKey.export({ format: 'jwk' }) as Record<string, unknown>, 'jwk')!
    const t = token({ alg: 'RS256' }, 'RS256', small.privateKey)
    await expect(verifyCompactJws(t, jwk, 'k1')).rejects.toMatchObject({
      code: 'ERR_JWT_SVID_SIGNATURE',
      message: 'authority "k1" is an RSA key of 1024 bits; at least 2048 are required',
    })
    const big = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const bigJwk = parsePublicJwk(big.publicKey.export({ format: 'jwk' }) as Record<string, unknown>, 'jwk')!
    await expect(
      verifyCompactJws(token({ alg: 'RS256' }, 'RS256', big.privateKey), bigJwk, 'k2', createNodePlatform()),
    ).resolves.toMatchObject({ alg: 'RS256' })
  })
})
