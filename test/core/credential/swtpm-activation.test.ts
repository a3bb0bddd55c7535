// Live proof: credentials made by vouch are activated by a real TPM 2.0 implementation (swtpm)
// through tpm2-tools, for an RSA-2048 and an ECC P-256 EK (TCG default templates), and a
// credential for another AK name fails with TPM_RC_INTEGRITY.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeCredential } from '../../../core/credential/make-credential.ts'
import { encodeCredentialFile, parseCredentialFile } from '../../../core/credential/credential-file.ts'
import { toHex } from '../../../core/bytes/encoding.ts'
import { main } from '../../../cli/main.ts'
import { ekFromTpmtPublicHex } from './soft-tpm.ts'
import { credentialEkOf, parseTpmKey } from '../../../core/attestor/tpm.ts'
import type { CredentialEk } from '../../../core/credential/ek.ts'
import { NV_EK_CERT_ECC_P256, NV_EK_CERT_RSA, startSwtpm, type Swtpm } from '../../support/swtpm.ts'

let tpmInstance: Swtpm
let dir = ''
let env: NodeJS.ProcessEnv = {}

function tpm(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

beforeAll(async () => {
  // a manufactured TPM with RSA-2048 and P-256 EK certificates in NV (test/support/swtpm.ts)
  tpmInstance = await startSwtpm({ name: 'credential', eccP256EkCert: true })
  dir = tpmInstance.workDir
  env = tpmInstance.env
})

afterAll(async () => {
  await tpmInstance?.stop()
})

/** Creates an EK (tpm2_createek) and an AK under it; returns the EK TPM2B_PUBLIC and the AK name. */
function createEkAndAk(prefix: string, ekAlg: 'rsa' | 'ecc'): { ekPub: Buffer; akName: Buffer } {
  tpm('tpm2_createek', ['-c', `${prefix}ek.ctx`, '-G', ekAlg, '-u', `${prefix}ek.pub`, '-f', 'tss'])
  const akArgs = ekAlg === 'rsa' ? ['-G', 'rsa', '-s', 'rsassa'] : ['-G', 'ecc', '-s', 'ecdsa']
  tpm('tpm2_createak', [
    '-C',
    `${prefix}ek.ctx`,
    '-c',
    `${prefix}ak.ctx`,
    ...akArgs,
    '-g',
    'sha256',
    '-u',
    `${prefix}ak.pub`,
    '-f',
    'tss',
    '-n',
    `${prefix}ak.name`,
    '-r',
    `${prefix}ak.priv`,
  ])
  tpm('tpm2_flushcontext', ['-t'])
  return { ekPub: readFileSync(join(dir, `${prefix}ek.pub`)), akName: readFileSync(join(dir, `${prefix}ak.name`)) }
}

/** TPM2_ActivateCredential with the EK's PolicySecret(ENDORSEMENT) session; returns {ok, secret|stderr}. */
function activate(prefix: string, credFile: string): { ok: true; secret: Buffer } | { ok: false; stderr: string } {
  const out = `${prefix}secret.out`
  rmSync(join(dir, out), { force: true })
  try {
    tpm('tpm2_startauthsession', ['--policy-session', '-S', `${prefix}s.ctx`])
    tpm('tpm2_policysecret', ['-S', `${prefix}s.ctx`, '-c', 'e'])
    const r = spawnSync(
      'tpm2_activatecredential',
      ['-c', `${prefix}ak.ctx`, '-C', `${prefix}ek.ctx`, '-i', credFile, '-o', out, '-P', `session:${prefix}s.ctx`],
      { cwd: dir, env, encoding: 'utf8' },
    )
    if (r.status !== 0) return { ok: false, stderr: r.stderr }
    return { ok: true, secret: readFileSync(join(dir, out)) }
  } finally {
    spawnSync('tpm2_flushcontext', [`${prefix}s.ctx`], { cwd: dir, env })
    spawnSync('tpm2_flushcontext', ['-t'], { cwd: dir, env })
  }
}

describe.each([
  ['RSA-2048 EK (tpm2_createek -G rsa)', 'rsa' as const, NV_EK_CERT_RSA],
  ['ECC P-256 EK (tpm2_createek -G ecc)', 'ecc' as const, NV_EK_CERT_ECC_P256],
])('swtpm activates vouch credentials: %s', (_name, alg, ekCertIndex) => {
  const prefix = `${alg}-`
  let ekPub: Buffer
  let akName: Buffer

  beforeAll(() => {
    ;({ ekPub, akName } = createEkAndAk(prefix, alg))
  })

  /** the library path: TPMT_PUBLIC -> TpmKey -> CredentialEk */
  const libraryEk = (): CredentialEk => credentialEkOf(parseTpmKey(new Uint8Array(ekPub.subarray(2)), 'EK'))

  it('the EK is the TCG default template: SHA-256 nameAlg, AES-128-CFB (library and test-side readers agree)', () => {
    const { ek, restricted } = ekFromTpmtPublicHex(ekPub.subarray(2).toString('hex'))
    expect(ek.publicKey.kty).toBe(alg === 'rsa' ? 'RSA' : 'EC')
    expect(ek.nameAlg).toBe('SHA-256')
    expect(ek.symmetricKeyBits).toBe(128)
    expect(restricted).toBe(true)
    const lib = libraryEk()
    expect([lib.nameAlg, lib.symmetricKeyBits, lib.publicKey.kty]).toEqual([ek.nameAlg, ek.symmetricKeyBits, ek.publicKey.kty])
  })

  it('returns the secret from makeCredential (default 32-byte seed for RSA)', async () => {
    const ek = libraryEk()
    const secret = crypto.getRandomValues(new Uint8Array(32))
    writeFileSync(join(dir, `${prefix}mc.blob`), encodeCredentialFile(await makeCredential({ ekPublic: ek, akName, secret })))
    const r = activate(prefix, `${prefix}mc.blob`)
    expect(r.ok ? toHex(r.secret) : r.stderr).toBe(toHex(secret))
  })

  it('also with a 16-byte RSA seed (go-tpm) and a short secret', async () => {
    const ek = libraryEk()
    const secret = crypto.getRandomValues(new Uint8Array(7))
    writeFileSync(
      join(dir, `${prefix}mc16.blob`),
      encodeCredentialFile(await makeCredential({ ekPublic: ek, akName, secret }, { seedBytes: 16 })),
    )
    const r = activate(prefix, `${prefix}mc16.blob`)
    expect(r.ok ? toHex(r.secret) : r.stderr).toBe(toHex(secret))
  })

  it("reads tpm2_makecredential's own file (parseCredentialFile) and re-encodes it byte for byte", () => {
    writeFileSync(join(dir, `${prefix}tools-secret.bin`), new Uint8Array(32).fill(0x42))
    spawnSync(
      'tpm2_makecredential',
      ['-T', 'none', '-u', `${prefix}ek.pub`, '-s', `${prefix}tools-secret.bin`, '-n', akName.toString('hex'), '-o', `${prefix}tools.blob`],
      { cwd: dir, env },
    )
    const file = new Uint8Array(readFileSync(join(dir, `${prefix}tools.blob`)))
    const parsed = parseCredentialFile(file)
    expect(parsed.idObject).toHaveLength(2 + 32 + 2 + 32)
    if (alg === 'rsa') expect(parsed.encSecret).toHaveLength(256)
    else {
      // TPMS_ECC_POINT: two TPM2B coordinates; tpm2-tss writes them without leading zero bytes, so a
      // coordinate is 32 bytes or (about once in 256 runs) shorter
      const e = parsed.encSecret
      const xLen = (e[0]! << 8) | e[1]!
      const yLen = (e[2 + xLen]! << 8) | e[3 + xLen]!
      expect(xLen).toBeGreaterThan(0)
      expect(xLen).toBeLessThanOrEqual(32)
      expect(yLen).toBeGreaterThan(0)
      expect(yLen).toBeLessThanOrEqual(32)
      expect(e).toHaveLength(2 + xLen + 2 + yLen)
    }
    expect(toHex(encodeCredentialFile(parsed))).toBe(toHex(file))
  })

  it('fails with TPM_RC_INTEGRITY for a credential bound to another AK name', async () => {
    const ek = libraryEk()
    const other = Buffer.from(akName)
    other[other.length - 1]! ^= 1
    writeFileSync(
      join(dir, `${prefix}wrong.blob`),
      encodeCredentialFile(await makeCredential({ ekPublic: ek, akName: other, secret: new Uint8Array(32).fill(3) })),
    )
    const r = activate(prefix, `${prefix}wrong.blob`)
    expect(r.ok).toBe(false)
    // TPM_RC_INTEGRITY (0x09F) | TPM_RC_P (0x040) | TPM_RC_1 (0x100): parameter 1 (credentialBlob)
    expect(r.ok ? '' : r.stderr).toMatch(/Esys_ActivateCredential\(0x1DF\) - tpm:parameter\(1\):integrity check failed/)
  })

  it('`vouch credential make` writes a file tpm2_activatecredential takes', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32))
    writeFileSync(join(dir, `${prefix}cli-secret.bin`), secret)
    const lines: string[] = []
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) }
    const code = await main(
      [
        'credential',
        'make',
        '--ek',
        join(dir, `${prefix}ek.pub`),
        '--name',
        akName.toString('hex'),
        '--secret',
        join(dir, `${prefix}cli-secret.bin`),
        '--out',
        join(dir, `${prefix}cli.blob`),
      ],
      io,
    )
    expect(code, lines.join('\n')).toBe(0)
    const r = activate(prefix, `${prefix}cli.blob`)
    expect(r.ok ? toHex(r.secret) : r.stderr).toBe(toHex(secret))
  })

  it('`vouch credential make --ek <EK certificate read from NV>` (TCG default template assumed) is activated too', async () => {
    tpm('tpm2_nvread', ['-C', 'o', '-o', `${prefix}ekcert.der`, `0x${ekCertIndex.toString(16)}`])
    const secret = crypto.getRandomValues(new Uint8Array(32))
    writeFileSync(join(dir, `${prefix}cert-secret.bin`), secret)
    const lines: string[] = []
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) }
    const code = await main(
      [
        'credential',
        'make',
        '--ek',
        join(dir, `${prefix}ekcert.der`),
        '--name',
        akName.toString('hex'),
        '--secret',
        join(dir, `${prefix}cert-secret.bin`),
        '--out',
        join(dir, `${prefix}cert.blob`),
        '--output',
        'json',
      ],
      io,
    )
    expect(code, lines.join('\n')).toBe(0)
    expect(JSON.parse(lines[0]!).ek.source).toBe('certificate')
    const r = activate(prefix, `${prefix}cert.blob`)
    expect(r.ok ? toHex(r.secret) : r.stderr).toBe(toHex(secret))
  })
})
