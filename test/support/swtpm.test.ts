import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NV_EK_CERT_ECC_P256, NV_EK_CERT_RSA, run, startSwtpm, type Swtpm } from './swtpm.ts'
import { firstDerElement, Tpm2Tools } from './tpm2-tools.ts'

/** openssl verify of a DER leaf against the swtpm local CA (root trusted, intermediate untrusted). */
async function opensslVerify(tpm: Swtpm, der: Uint8Array, label: string): Promise<string> {
  const pem = join(tpm.workDir, `${label}.pem`)
  await writeFile(join(tpm.workDir, `${label}.der`), der)
  await run('openssl', ['x509', '-inform', 'der', '-in', join(tpm.workDir, `${label}.der`), '-out', pem])
  const { stdout } = await run('openssl', ['verify', '-CAfile', tpm.ekCa.rootCertPath, '-untrusted', tpm.ekCa.intermediateCertPath, pem])
  return stdout.trim()
}

async function spkiOfCert(tpm: Swtpm, der: Uint8Array, label: string): Promise<string> {
  const path = join(tpm.workDir, `${label}.spki.der`)
  await writeFile(path, der)
  return (await run('openssl', ['x509', '-inform', 'der', '-in', path, '-pubkey', '-noout'])).stdout
}

describe('test/support/swtpm: real swtpm instances', () => {
  let a: Swtpm
  let b: Swtpm
  beforeAll(async () => {
    // two at once: distinct ports, one shared local CA under a lock
    ;[a, b] = await Promise.all([startSwtpm({ name: 'a', eccP256EkCert: true }), startSwtpm({ name: 'b' })])
  })
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
  })

  it('gives each instance its own consecutive port pair and temp dir', () => {
    expect(a.ctrlPort).toBe(a.port + 1)
    expect(b.ctrlPort).toBe(b.port + 1)
    expect(new Set([a.port, a.ctrlPort, b.port, b.ctrlPort]).size).toBe(4)
    expect(a.dir).not.toBe(b.dir)
    expect(a.env.TPM2TOOLS_TCTI).toBe(`swtpm:host=127.0.0.1,port=${a.port}`)
    expect(a.ekCaDir).toBe(b.ekCaDir)
  })

  it('provisions RSA and P-256 EK certs that chain to the exported local CA and match the EKs', async () => {
    const tools = new Tpm2Tools(a)
    const rsaCert = await tools.readEkCert(NV_EK_CERT_RSA)
    const eccCert = await tools.readEkCert(NV_EK_CERT_ECC_P256)
    expect(await opensslVerify(a, rsaCert, 'ek-rsa')).toMatch(/: OK$/)
    expect(await opensslVerify(a, eccCert, 'ek-ecc')).toMatch(/: OK$/)
    const rsaEk = await tools.createEk('rsa')
    const eccEk = await tools.createEk('ecc')
    expect(await spkiOfCert(a, rsaCert, 'ek-rsa')).toBe(rsaEk.pem)
    expect(await spkiOfCert(a, eccCert, 'ek-ecc')).toBe(eccEk.pem)
    expect(a.ekCa.rootPem).toContain('BEGIN CERTIFICATE')
  })

  it('different instances have different EKs; b has no P-256 EK cert', async () => {
    const ea = await new Tpm2Tools(a).createEk('rsa')
    const tb = new Tpm2Tools(b)
    const eb = await tb.createEk('rsa')
    expect(Buffer.from(ea.pub).equals(Buffer.from(eb.pub))).toBe(false)
    await expect(tb.readEkCert(NV_EK_CERT_ECC_P256)).rejects.toThrow(/tpm2_nvread/)
  })

  it('runs the AK / SRK / DevID / certify / quote / credential flow', async () => {
    const t = new Tpm2Tools(a)
    const ek = await t.createEk('rsa')
    const ak = await t.createAk(ek, 'rsa')
    const srk = await t.createSrk('rsa')
    // SPIRE SRK-High-RSA (spec 7.1): attrs 0x00030472, AES-128-CFB, scheme NULL, 2048, exp 0, unique EMPTY
    expect(Buffer.from(srk.template).toString('hex')).toBe('0001000b00030472000000060080004300100800000000000000')
    const devid = await t.load(srk, await t.createKey(srk, { alg: 'ecc256' }), 'devid')
    const c = await t.certify(devid, ak)
    expect(Buffer.from(c.attest.subarray(0, 6)).toString('hex')).toBe('ff5443478017')
    const nonce = new Uint8Array(32).map((_, i) => i)
    const q = await t.quote(ak, 'sha256:0,1,2,7', nonce)
    expect(q.pcrValues.length).toBe(4 * 32)
    expect(await t.checkquote(ak.pubPath, q, nonce, 'sha256:0,1,2,7')).toBe(true)
    expect(
      await t.checkquote(
        ak.pubPath,
        q,
        nonce.map((x) => x ^ 1),
        'sha256:0,1,2,7',
      ),
    ).toBe(false)
    const secret = new Uint8Array(32).fill(0x5a)
    const { blobPath } = await t.makeCredential(ek, ak.name, secret)
    expect(Buffer.from(await t.activateCredential(ak, ek, blobPath))).toEqual(Buffer.from(secret))
  })

  it('restart keeps the TPM (same EK) and stop kills the daemon and removes the dir', async () => {
    const t = new Tpm2Tools(b)
    const before = await t.createEk('rsa')
    const oldPid = b.pid
    await b.restart()
    expect(() => process.kill(oldPid, 0)).toThrow()
    const after = await new Tpm2Tools(b).createEk('rsa')
    expect(Buffer.from(after.pub).equals(Buffer.from(before.pub))).toBe(true)
    const pid = b.pid
    const dir = b.dir
    await b.stop()
    expect(() => process.kill(pid, 0)).toThrow()
    expect(existsSync(dir)).toBe(false)
  })
})

describe('firstDerElement', () => {
  it('cuts NV padding after the certificate and rejects truncation', () => {
    const der = Uint8Array.from([0x30, 0x82, 0x00, 0x03, 1, 2, 3])
    expect(firstDerElement(Uint8Array.from([...der, 0xff, 0xff]))).toEqual(der)
    expect(firstDerElement(Uint8Array.from([0x30, 0x01, 9, 0]))).toEqual(Uint8Array.from([0x30, 0x01, 9]))
    expect(() => firstDerElement(der.subarray(0, 5))).toThrow(/longer/)
  })
})
