/**
 * The server's JWT-SVID authority: one ECDSA P-256 key (ES256), persisted as PKCS#8 PEM next to
 * the CA key, whose public half is in the trust domain's bundle (`use: jwt-svid`, JWT-SVID.md §6)
 * and in the OIDC JWKS. The key ID is the key's RFC 7638 JWK thumbprint (base64url SHA-256).
 * Tokens carry only the alg/kid/typ header members JWT-SVID §3 allows.
 */
import { toBase64Url, utf8 } from '../../core/bytes/encoding.ts'
import { parsePemBlocks, toPem } from '../../core/bytes/pem.ts'
import type { PublicJwk } from '../../core/svid/jwk.ts'

export interface JwtSvidClaims {
  readonly sub: string
  readonly aud: readonly string[]
  /** seconds since the epoch */
  readonly exp: number
  readonly iat: number
  readonly iss?: string
}

export class JwtAuthority {
  private constructor(
    readonly kid: string,
    readonly publicJwk: PublicJwk & { readonly kty: 'EC' },
    private readonly key: CryptoKey,
    private readonly subtle: SubtleCrypto,
  ) {}

  /** A new P-256 key and its PKCS#8 PEM to persist. */
  static async create(subtle: SubtleCrypto): Promise<{ authority: JwtAuthority; privateKeyPem: string }> {
    const pair = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey))
    const privateKeyPem = toPem('PRIVATE KEY', pkcs8)
    return { authority: await JwtAuthority.load(privateKeyPem, subtle), privateKeyPem }
  }

  /** The authority from its PKCS#8 PEM (a P-256 key). */
  static async load(privateKeyPem: string, subtle: SubtleCrypto): Promise<JwtAuthority> {
    const block = parsePemBlocks(privateKeyPem, 'JWT signing key').find((b) => b.label === 'PRIVATE KEY')
    if (!block) throw new Error('JWT signing key: no PRIVATE KEY (PKCS#8) PEM block')
    const alg = { name: 'ECDSA', namedCurve: 'P-256' }
    let extractable: CryptoKey
    try {
      extractable = await subtle.importKey('pkcs8', block.der as Uint8Array<ArrayBuffer>, alg, true, ['sign'])
    } catch {
      throw new Error('JWT signing key: not a PKCS#8 P-256 private key')
    }
    const jwk = (await subtle.exportKey('jwk', extractable)) as JsonWebKey
    const publicJwk = { kty: 'EC' as const, crv: 'P-256' as const, x: jwk.x!, y: jwk.y! }
    // RFC 7638 §3.2: the required members in lexicographic order, no whitespace
    const thumbprint = new Uint8Array(await subtle.digest('SHA-256', utf8(`{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`)))
    const key = await subtle.importKey('pkcs8', block.der as Uint8Array<ArrayBuffer>, alg, false, ['sign'])
    return new JwtAuthority(toBase64Url(thumbprint), publicJwk, key, subtle)
  }

  /** The JWKS member for OIDC discovery consumers (`use: sig`, `alg: ES256`). */
  oidcJwk(): Record<string, string> {
    return { ...this.publicJwk, kid: this.kid, use: 'sig', alg: 'ES256' }
  }

  /** A compact ES256 JWS over the claims, header { alg, kid, typ: JWT }. */
  async sign(claims: JwtSvidClaims): Promise<string> {
    const header = toBase64Url(utf8(JSON.stringify({ alg: 'ES256', kid: this.kid, typ: 'JWT' })))
    const payload = toBase64Url(utf8(JSON.stringify(claims)))
    const input = `${header}.${payload}`
    // Web Crypto's ECDSA signature is r || s, the JWS form (RFC 7518 §3.4)
    const sig = new Uint8Array(await this.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, this.key, utf8(input)))
    return `${input}.${toBase64Url(sig)}`
  }
}
