import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { JwtAuthority } from '../../server/ca/jwt-authority.ts'

describe('JwtAuthority', () => {
  it('kid is the RFC 7638 thumbprint (as jose computes it); the PEM reloads to the same key; tokens verify with jose', async () => {
    const { authority, privateKeyPem } = await JwtAuthority.create(crypto.subtle)
    expect(privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect(authority.kid).toBe(await calculateJwkThumbprint(authority.publicJwk, 'sha256'))
    const reloaded = await JwtAuthority.load(privateKeyPem, crypto.subtle)
    expect(reloaded.kid).toBe(authority.kid)
    expect(reloaded.publicJwk).toEqual(authority.publicJwk)
    expect(authority.oidcJwk()).toEqual({ ...authority.publicJwk, kid: authority.kid, use: 'sig', alg: 'ES256' })
    const token = await reloaded.sign({ sub: 'spiffe://example.org/w', aud: ['a'], exp: 2_000_000_000, iat: 1_900_000_000 })
    const { payload, protectedHeader } = await compactVerify(token, await importJWK({ ...authority.publicJwk }, 'ES256'))
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: authority.kid, typ: 'JWT' })
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      sub: 'spiffe://example.org/w',
      aud: ['a'],
      exp: 2_000_000_000,
      iat: 1_900_000_000,
    })
  })

  it('refuses a PEM without a PKCS#8 key and a key that is not P-256', async () => {
    await expect(JwtAuthority.load('nothing here', crypto.subtle)).rejects.toThrow()
    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign'])) as CryptoKeyPair
    const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', p384.privateKey)).toString('base64')
    await expect(JwtAuthority.load(`-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`, crypto.subtle)).rejects.toThrow(
      'JWT signing key: not a PKCS#8 P-256 private key',
    )
  })
})
