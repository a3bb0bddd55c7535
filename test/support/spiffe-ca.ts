/**
 * A test CA for SPIFFE: mints X.509-SVIDs (with a tiny DER writer, so every field the SVID and
 * RFC 5280 rules look at can be set or broken on purpose, and every certificate is properly signed)
 * and JWT-SVIDs (jose). Test support only: uses node:crypto freely.
 */
import { X509Certificate, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose'

// ---------------------------------------------------------------- DER writer

function len(n: number): number[] {
  if (n < 0x80) return [n]
  const out: number[] = []
  while (n > 0) {
    out.unshift(n & 0xff)
    n >>= 8
  }
  return [0x80 | out.length, ...out]
}
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content)
  return new Uint8Array([tag, ...len(body.length), ...body])
}
export const seq = (...c: Uint8Array[]) => tlv(0x30, ...c)
export const set = (...c: Uint8Array[]) => tlv(0x31, ...c)
export function oid(dotted: string): Uint8Array {
  const p = dotted.split('.').map(Number)
  const bytes = [40 * p[0]! + p[1]!]
  for (const v of p.slice(2)) {
    const enc = [v & 0x7f]
    for (let x = v >>> 7; x > 0; x >>>= 7) enc.unshift(0x80 | (x & 0x7f))
    bytes.push(...enc)
  }
  return tlv(0x06, new Uint8Array(bytes))
}
export function integer(value: number | Uint8Array): Uint8Array {
  let b: number[]
  if (typeof value === 'number') {
    b = []
    let v = value
    do {
      b.unshift(v & 0xff)
      v = Math.floor(v / 256)
    } while (v > 0)
  } else b = [...value]
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b.shift()
  if (b[0]! >= 0x80) b.unshift(0)
  return tlv(0x02, new Uint8Array(b))
}
const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]))
const octets = (b: Uint8Array) => tlv(0x04, b)
const bitString = (b: Uint8Array, unused = 0) => tlv(0x03, new Uint8Array([unused]), b)
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s))
const explicit = (n: number, c: Uint8Array) => tlv(0xa0 + n, c)
const NULL = new Uint8Array([0x05, 0x00])

function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z' // YYYYMMDDHHMMSSZ
  const y = d.getUTCFullYear()
  return y >= 1950 && y < 2050 ? tlv(0x17, new TextEncoder().encode(iso.slice(2))) : tlv(0x18, new TextEncoder().encode(iso))
}

export function name(entries: [string, string][]): Uint8Array {
  const OIDS: Record<string, string> = { CN: '2.5.4.3', O: '2.5.4.10', C: '2.5.4.6', OU: '2.5.4.11' }
  return seq(...entries.map(([k, v]) => set(seq(oid(OIDS[k]!), utf8(v)))))
}

// ---------------------------------------------------------------- keys

export type KeyKind = 'rsa' | 'p256'
export interface TestKey {
  readonly kind: KeyKind
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly spki: Uint8Array
}

export function makeKey(kind: KeyKind): TestKey {
  const { privateKey, publicKey } =
    kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kind, privateKey, publicKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) }
}

const pool: Record<KeyKind, TestKey[]> = { rsa: [], p256: [] }
/** The i-th cached key of a kind (RSA key generation is slow on the shared machine). */
export function testKey(kind: KeyKind, i = 0): TestKey {
  while (pool[kind].length <= i) pool[kind].push(makeKey(kind))
  return pool[kind][i]!
}

function sigAlg(kind: KeyKind): Uint8Array {
  return kind === 'rsa' ? seq(oid('1.2.840.113549.1.1.11'), NULL) : seq(oid('1.2.840.10045.4.3.2'))
}

// ---------------------------------------------------------------- certificates

export type KeyUsageBit =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
const KU_BITS: KeyUsageBit[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
]

function keyUsageValue(bits: KeyUsageBit[]): Uint8Array {
  let v = 0
  for (const b of bits) v |= 0x80 >> KU_BITS.indexOf(b)
  if (v === 0) return bitString(new Uint8Array(0))
  let unused = 0
  while (((v >> unused) & 1) === 0) unused++
  return bitString(new Uint8Array([v]), unused)
}

export interface CertSpec {
  readonly key: TestKey
  /** issuer key and name; omitted: self-signed */
  readonly issuer?: { readonly key: TestKey; readonly name: Uint8Array; readonly spki: Uint8Array }
  readonly subject?: [string, string][]
  readonly serial?: number
  readonly notBefore?: Date
  readonly notAfter?: Date
  /** undefined: no basicConstraints extension */
  readonly ca?: boolean
  readonly pathLen?: number
  /** undefined: no keyUsage extension */
  readonly keyUsage?: KeyUsageBit[]
  readonly keyUsageCritical?: boolean
  readonly uris?: string[]
  readonly dns?: string[]
  readonly sanCritical?: boolean
  /** extended key usage OIDs (names serverAuth / clientAuth accepted) */
  readonly eku?: string[]
  /** permitted URI name constraints, e.g. ['.example.org'] or ['example.org'] */
  readonly permittedUris?: string[]
}

export interface MintedCert {
  readonly der: Uint8Array
  readonly key: TestKey
  readonly name: Uint8Array
  readonly spki: Uint8Array
}

function ext(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value))
}

let serialCounter = 1000
export function makeCertificate(spec: CertSpec): MintedCert {
  const subject = name(spec.subject ?? [['O', 'vouch test']])
  const issuerName = spec.issuer?.name ?? subject
  const issuerKey = spec.issuer?.key ?? spec.key
  const issuerSpki = spec.issuer?.spki ?? spec.key.spki
  const exts: Uint8Array[] = []
  if (spec.ca !== undefined) {
    const parts = spec.ca ? [bool(true), ...(spec.pathLen !== undefined ? [integer(spec.pathLen)] : [])] : []
    exts.push(ext('2.5.29.19', true, seq(...parts)))
  }
  if (spec.keyUsage) exts.push(ext('2.5.29.15', spec.keyUsageCritical ?? true, keyUsageValue(spec.keyUsage)))
  const names = [
    ...(spec.uris ?? []).map((u) => tlv(0x86, new TextEncoder().encode(u))),
    ...(spec.dns ?? []).map((d) => tlv(0x82, new TextEncoder().encode(d))),
  ]
  if (names.length) exts.push(ext('2.5.29.17', spec.sanCritical ?? false, seq(...names)))
  if (spec.eku) {
    const ids: Record<string, string> = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' }
    exts.push(ext('2.5.29.37', false, seq(...spec.eku.map((e) => oid(ids[e] ?? e)))))
  }
  if (spec.permittedUris) {
    const subtrees = spec.permittedUris.map((u) => seq(tlv(0x86, new TextEncoder().encode(u))))
    exts.push(ext('2.5.29.30', true, seq(tlv(0xa0, ...subtrees))))
  }
  exts.push(ext('2.5.29.14', false, octets(skid(spec.key.spki))))
  exts.push(ext('2.5.29.35', false, seq(tlv(0x80, skid(issuerSpki)))))
  const notBefore = spec.notBefore ?? new Date(Date.now() - 3600_000)
  const notAfter = spec.notAfter ?? new Date(Date.now() + 24 * 3600_000)
  const tbs = seq(
    explicit(0, integer(2)),
    integer(spec.serial ?? serialCounter++),
    sigAlg(issuerKey.kind),
    issuerName,
    seq(time(notBefore), time(notAfter)),
    subject,
    spec.key.spki,
    explicit(3, seq(...exts)),
  )
  const sig = sign('sha256', tbs, issuerKey.privateKey)
  const der = seq(tbs, sigAlg(issuerKey.kind), bitString(new Uint8Array(sig)))
  return { der, key: spec.key, name: subject, spki: spec.key.spki }
}

function skid(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki).digest())
}

export interface SvidSpec extends Omit<CertSpec, 'key' | 'issuer' | 'uris'> {
  readonly key?: TestKey
  /** default: [id] */
  readonly uris?: string[]
}

/** A CA of a trust domain (root or intermediate) that issues SVIDs and child CAs. */
export class TestCa {
  readonly cert: MintedCert
  /** certificates from this CA up to (excluding) the root, leaf-most first */
  readonly chainToRoot: Uint8Array[]

  private constructor(cert: MintedCert, chainToRoot: Uint8Array[]) {
    this.cert = cert
    this.chainToRoot = chainToRoot
  }

  static root(td: string, kind: KeyKind = 'p256', keyIndex = 0, extra: Partial<CertSpec> = {}): TestCa {
    const cert = makeCertificate({
      key: testKey(kind, keyIndex),
      subject: [
        ['O', 'vouch test'],
        ['CN', `${td} root`],
      ],
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      uris: [`spiffe://${td}`],
      notBefore: new Date(Date.now() - 24 * 3600_000),
      notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
      ...extra,
    })
    return new TestCa(cert, [])
  }

  childCa(td: string, kind: KeyKind = 'p256', keyIndex = 1, extra: Partial<CertSpec> = {}): TestCa {
    const cert = makeCertificate({
      key: testKey(kind, keyIndex),
      issuer: { key: this.cert.key, name: this.cert.name, spki: this.cert.spki },
      subject: [
        ['O', 'vouch test'],
        ['CN', `${td} intermediate ${keyIndex}`],
      ],
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      uris: [`spiffe://${td}`],
      notBefore: new Date(Date.now() - 24 * 3600_000),
      notAfter: new Date(Date.now() + 180 * 24 * 3600_000),
      ...extra,
    })
    return new TestCa(cert, [cert.der, ...this.chainToRoot])
  }

  /** An X.509-SVID: leaf cA=false, KU digitalSignature (critical), EKU server+client, one URI SAN. */
  issue(id: string, spec: SvidSpec = {}): { chain: Uint8Array[]; leaf: MintedCert } {
    const leaf = makeCertificate({
      ca: false,
      keyUsage: ['digitalSignature'],
      eku: ['serverAuth', 'clientAuth'],
      subject: [['O', 'vouch test']],
      ...spec,
      key: spec.key ?? testKey('p256', 2),
      uris: spec.uris ?? [id],
      issuer: { key: this.cert.key, name: this.cert.name, spki: this.cert.spki },
    })
    return { chain: [leaf.der, ...this.chainToRoot], leaf }
  }
}

export function toPemChain(ders: Uint8Array[]): string {
  return ders
    .map(
      (d) =>
        `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
    )
    .join('')
}

// ---------------------------------------------------------------- JWT-SVIDs

export type JwsAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512'

export interface JwtAuthority {
  readonly kid: string
  readonly alg: JwsAlg
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

export async function makeJwtAuthority(alg: JwsAlg, kid: string): Promise<JwtAuthority> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { kid, alg, privateKey, publicJwk: { ...jwk } }
}

/** A SPIFFE bundle JSON document with these JWT authorities (use jwt-svid) and X.509 authorities. */
export function bundleJson(jwt: JwtAuthority[], x509: Uint8Array[] = [], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ...extra,
    keys: [
      ...jwt.map((a) => ({ use: 'jwt-svid', kid: a.kid, ...a.publicJwk })),
      ...x509.map((der) => ({ use: 'x509-svid', ...x509Jwk(der) })),
    ],
  })
}

/** The JWK of an X.509 authority: key members from the certificate key plus x5c. */
export function x509Jwk(der: Uint8Array): Record<string, unknown> {
  const cert = new X509Certificate(der)
  const jwk = cert.publicKey.export({ format: 'jwk' })
  return { ...jwk, x5c: [Buffer.from(der).toString('base64')] }
}

export interface MintJwtOptions {
  /** header members; `undefined` values are dropped (e.g. { kid: undefined } for no kid) */
  readonly header?: Record<string, unknown>
  readonly claims: Record<string, unknown>
  /** sign with this alg instead of the authority's (key mismatch cases) */
  readonly alg?: JwsAlg
}

export async function mintJwtSvid(authority: JwtAuthority, opts: MintJwtOptions): Promise<string> {
  const header = Object.fromEntries(
    Object.entries({ alg: opts.alg ?? authority.alg, kid: authority.kid, typ: 'JWT', ...opts.header }).filter(([, v]) => v !== undefined),
  )
  return new CompactSign(new TextEncoder().encode(JSON.stringify(opts.claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(authority.privateKey)
}

/** Unsigned (alg none) or hand-made tokens. */
export function rawJws(header: unknown, claims: unknown, signature = ''): string {
  const b = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${b(header)}.${b(claims)}.${signature}`
}
