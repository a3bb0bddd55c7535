import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'
import { parseCredentialFile } from '../../../core/credential/credential-file.ts'
import { softActivate } from '../../core/credential/soft-tpm.ts'

const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-cred-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['credential', 'make', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
writeFileSync(join(dir, 'rsa.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }))
writeFileSync(join(dir, 'ec.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }))
writeFileSync(join(dir, 'rsa.der'), rsa.publicKey.export({ type: 'spki', format: 'der' }))
const secret = new Uint8Array(32).map((_, i) => 200 - i)
writeFileSync(join(dir, 'secret.bin'), secret)
const akName = '000b' + 'c3'.repeat(32)

describe('vouch credential make', () => {
  it.each([
    ['an RSA SPKI PEM', 'rsa.pem', { kind: 'RSA' as const, privateKey: rsa.privateKey }],
    ['an RSA SPKI DER', 'rsa.der', { kind: 'RSA' as const, privateKey: rsa.privateKey }],
  ])('takes %s EK (TCG default template assumed) and writes a credential file the EK can activate', async (_n, file, priv) => {
    const out = join(dir, `${file}.blob`)
    const r = await run('--ek', join(dir, file), '--name', akName, '--secret', join(dir, 'secret.bin'), '--out', out)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain(out)
    const cred = parseCredentialFile(new Uint8Array(readFileSync(out)))
    expect(Buffer.from(softActivate(priv, 'SHA-256', 128, Buffer.from(akName, 'hex'), cred.idObject, cred.encSecret))).toEqual(
      Buffer.from(secret),
    )
  })

  it('takes an ECC P-256 PEM EK and reports JSON with --output json', async () => {
    const out = join(dir, 'ec.blob')
    const r = await run(
      '--ek',
      join(dir, 'ec.pem'),
      '--name',
      akName,
      '--secret',
      join(dir, 'secret.bin'),
      '--out',
      out,
      '--output',
      'json',
    )
    expect(r.code, r.err).toBe(0)
    const j = JSON.parse(r.out)
    expect(j).toMatchObject({
      out,
      ek: { type: 'ecc', curve: 'P-256', nameAlg: 'SHA-256', symmetric: 'aes-128-cfb', source: 'spki' },
      akName,
    })
    const jwk = ec.privateKey.export({ format: 'jwk' })
    const cred = parseCredentialFile(new Uint8Array(readFileSync(out)))
    expect(cred.encSecret).toHaveLength(2 + 32 + 2 + 32)
    const got = softActivate(
      { kind: 'EC', crv: 'P-256', d: Buffer.from(jwk.d!, 'base64url'), x: Buffer.from(jwk.x!, 'base64url') },
      'SHA-256',
      128,
      Buffer.from(akName, 'hex'),
      cred.idObject,
      cred.encSecret,
    )
    expect(Buffer.from(got)).toEqual(Buffer.from(secret))
  })

  it('is a usage error (exit 2) without a required option, with a bad hex name, or with an unreadable file', async () => {
    expect((await run('--name', akName, '--secret', join(dir, 'secret.bin'), '--out', join(dir, 'x'))).code).toBe(2)
    expect(
      (await run('--ek', join(dir, 'rsa.pem'), '--name', 'xyz', '--secret', join(dir, 'secret.bin'), '--out', join(dir, 'x'))).code,
    ).toBe(2)
    const missing = await run('--ek', join(dir, 'nope.pem'), '--name', akName, '--secret', join(dir, 'secret.bin'), '--out', join(dir, 'x'))
    expect(missing.code).toBe(2)
    expect(missing.err).toContain('no such file or directory')
  })

  it('exits 1 with the error code for an AK name it cannot use and for an EK that does not parse', async () => {
    const badName = await run(
      '--ek',
      join(dir, 'rsa.pem'),
      '--name',
      '0012' + '00'.repeat(32),
      '--secret',
      join(dir, 'secret.bin'),
      '--out',
      join(dir, 'x'),
    )
    expect(badName.code).toBe(1)
    expect(badName.err).toContain('ERR_CREDENTIAL_UNSUPPORTED_KEY')
    writeFileSync(join(dir, 'garbage.pub'), new Uint8Array([0, 5, 1, 2, 3, 4, 5]))
    const garbage = await run(
      '--ek',
      join(dir, 'garbage.pub'),
      '--name',
      akName,
      '--secret',
      join(dir, 'secret.bin'),
      '--out',
      join(dir, 'x'),
    )
    expect(garbage.code).toBe(1)
    expect(garbage.err).toMatch(/ERR_TPM2_MALFORMED|ERR_TPM2_UNSUPPORTED_ALGORITHM/)
  })

  it('refuses a secret longer than the EK nameAlg digest (exit 2)', async () => {
    writeFileSync(join(dir, 'long.bin'), new Uint8Array(33))
    const r = await run('--ek', join(dir, 'rsa.pem'), '--name', akName, '--secret', join(dir, 'long.bin'), '--out', join(dir, 'x'))
    expect(r.code).toBe(2)
    expect(r.err).toContain('1..32 bytes')
  })
})
