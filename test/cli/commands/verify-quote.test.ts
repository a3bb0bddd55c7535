import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'

const v = (p: string) => new URL(`../../vectors/real-tpm/google-go-tpm-tools/derived/gce-cos-85-nonce9009/${p}`, import.meta.url).pathname
const tmp = mkdtempSync(join(tmpdir(), 'vouch-cli-quote-'))

function capture() {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err }
}

// PCR values of the GCE quote, concatenated in selection order (what tpm2_quote -F values writes)
const expected = JSON.parse(readFileSync(v('expected.json'), 'utf8'))
const pcrs = expected.quotes.sha256.pcrs as Record<string, string>
const pcrFile = join(tmp, 'pcrs.bin')
writeFileSync(
  pcrFile,
  Buffer.concat(
    Object.keys(pcrs)
      .sort((a, b) => +a - +b)
      .map((k) => Buffer.from(pcrs[k]!, 'hex')),
  ),
)
const all = 'sha256:' + Array.from({ length: 24 }, (_, i) => i).join(',')
const argv = (nonce: string, selection = all) => [
  'verify',
  'quote',
  '--ak',
  v('ak_pub.tpmt_public.bin'),
  '--attest',
  v('quote_sha256.tpms_attest.bin'),
  '--signature',
  v('quote_sha256.tpmt_signature.bin'),
  '--nonce',
  nonce,
  '--pcrs',
  pcrFile,
  '--selection',
  selection,
]

describe('vouch verify quote', () => {
  it('exit 0 and a JSON verdict for a real GCE quote', async () => {
    const c = capture()
    expect(await main([...argv('9009'), '--output', 'json'], c.io)).toBe(0)
    expect(JSON.parse(c.out[0]!)).toMatchObject({ valid: true, selection: all })
  })

  it('exit 1 naming the failure for a wrong nonce', async () => {
    const c = capture()
    expect(await main([...argv('9010'), '--output', 'json'], c.io)).toBe(1)
    expect(JSON.parse(c.out[0]!).error.code).toBe('ERR_QUOTE_NONCE_MISMATCH')
  })

  it('exit 1 when --selection differs from the quoted selection', async () => {
    const c = capture()
    expect(await main(argv('9009', 'sha256:0,1'), c.io)).toBe(1)
    expect(c.out.join('\n')).toMatch(/ERR_QUOTE_PCR_SELECTION/)
  })

  it('exit 2 for usage errors and unreadable files', async () => {
    const c = capture()
    expect(
      await main(
        [
          'verify',
          'quote',
          '--ak',
          '/nonexistent',
          '--attest',
          'x',
          '--signature',
          'y',
          '--nonce',
          '00',
          '--pcrs',
          'z',
          '--selection',
          'sha256:0',
        ],
        c.io,
      ),
    ).toBe(2)
    expect(c.err.join('\n')).toMatch(/read AK \/nonexistent: no such file or directory/)
    expect(await main(argv('xyz'), capture().io)).toBe(2)
  })
})

// The AK known only as a PEM public key (an AK certificate's key), with a plain signature.
describe('vouch verify quote with a PEM AK and plain signatures', () => {
  it('RSA: the GCE AK as PEM SPKI and the raw RSASSA signature (tpm2_quote -f plain)', async () => {
    // the AK's modulus is the TPMT_PUBLIC unique field (last 256 bytes, after its u16 size)
    const akPub = readFileSync(v('ak_pub.tpmt_public.bin'))
    const n = akPub.subarray(akPub.length - 256)
    const pem = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    }) as string
    const akFile = join(tmp, 'ak.pem')
    writeFileSync(akFile, pem)
    const tss = readFileSync(v('quote_sha256.tpmt_signature.bin'))
    const plain = join(tmp, 'quote.plain.sig')
    writeFileSync(plain, tss.subarray(6)) // sigAlg, hash, u16 size, then the signature
    const args = (nonce: string, sig = plain) => [
      'verify',
      'quote',
      '--ak',
      akFile,
      '--attest',
      v('quote_sha256.tpms_attest.bin'),
      '--signature',
      sig,
      '--nonce',
      nonce,
      '--pcrs',
      pcrFile,
      '--selection',
      all,
      '--output',
      'json',
    ]
    const ok = capture()
    expect(await main(args('9009'), ok.io)).toBe(0)
    expect(JSON.parse(ok.out[0]!)).toMatchObject({ valid: true })
    // the TSS form of the same signature also verifies with a PEM AK
    expect(await main(args('9009', v('quote_sha256.tpmt_signature.bin')), capture().io)).toBe(0)
    const flipped = Buffer.from(tss.subarray(6))
    flipped[100]! ^= 1
    const bad = join(tmp, 'quote.bad.sig')
    writeFileSync(bad, flipped)
    const c = capture()
    expect(await main(args('9009', bad), c.io)).toBe(1)
    expect(JSON.parse(c.out[0]!).error.code).toBe('ERR_TPM2_SIGNATURE_INVALID')
  })

  it('ECDSA P-256: a PEM AK and a DER signature (as tpm2_quote -f plain writes)', async () => {
    // a quote body built by hand (Part 2 §10.12.8): magic, QUOTE, qualifiedSigner, extraData,
    // clockInfo, firmwareVersion, TPML_PCR_SELECTION sha256:0,7, pcrDigest = SHA-256(PCR0 || PCR7)
    const pcr0 = Buffer.alloc(32, 0x11)
    const pcr7 = Buffer.alloc(32, 0x77)
    const nonce = Buffer.from('a1b2c3d4e5f6', 'hex')
    const u16 = (x: number) => Buffer.from([x >> 8, x & 0xff])
    const sized = (b: Buffer) => Buffer.concat([u16(b.length), b])
    const attest = Buffer.concat([
      Buffer.from([0xff, 0x54, 0x43, 0x47, 0x80, 0x18]),
      sized(Buffer.concat([u16(0x000b), Buffer.alloc(32, 0x5a)])),
      sized(nonce),
      Buffer.from('00000000000004d2' + '00000003' + '00000000' + '01', 'hex'),
      Buffer.from('2000000000000001', 'hex'),
      Buffer.from('00000001' + '000b' + '03' + '810000', 'hex'),
      sized(
        createHash('sha256')
          .update(Buffer.concat([pcr0, pcr7]))
          .digest(),
      ),
    ])
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const der = sign('sha256', attest, privateKey) // DER SEQUENCE { r, s }
    const files = { ak: join(tmp, 'ec-ak.pem'), attest: join(tmp, 'ec.attest'), sig: join(tmp, 'ec.sig'), pcrs: join(tmp, 'ec.pcrs') }
    writeFileSync(files.ak, publicKey.export({ type: 'spki', format: 'pem' }) as string)
    writeFileSync(files.attest, attest)
    writeFileSync(files.sig, der)
    writeFileSync(files.pcrs, Buffer.concat([pcr0, pcr7]))
    const args = (nonceHex: string, pcrs = files.pcrs) => [
      'verify',
      'quote',
      '--ak',
      files.ak,
      '--attest',
      files.attest,
      '--signature',
      files.sig,
      '--nonce',
      nonceHex,
      '--pcrs',
      pcrs,
      '--selection',
      'sha256:0,7',
      '--output',
      'json',
    ]
    const ok = capture()
    expect(await main(args(nonce.toString('hex')), ok.io)).toBe(0)
    expect(JSON.parse(ok.out[0]!)).toMatchObject({ valid: true, selection: 'sha256:0,7', resetCount: 3, safe: true })
    const c = capture()
    expect(await main(args('a1b2c3d4e5f7'), c.io)).toBe(1)
    expect(JSON.parse(c.out[0]!).error.code).toBe('ERR_QUOTE_NONCE_MISMATCH')
    const badPcrs = join(tmp, 'ec.bad.pcrs')
    writeFileSync(badPcrs, Buffer.concat([pcr0, Buffer.alloc(32, 0x78)]))
    const d = capture()
    expect(await main(args(nonce.toString('hex'), badPcrs), d.io)).toBe(1)
    expect(JSON.parse(d.out[0]!).error.code).toBe('ERR_QUOTE_PCR_DIGEST_MISMATCH')
  })
})
