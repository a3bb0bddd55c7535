// EKs beyond the TCG low range: Debian's swtpm certifies a NIST P-384 EK (high-range template, NV
// 0x01c00016) and, with --rsa-keysize 3072, an RSA-3072 EK (NV 0x01c0001c). `vouch agent --once`
// with the EK-only attestor creates each EK from its template (nameAlg SHA-384, AES-256-CFB,
// PolicyB), reads its certificate from the template's index, and activates the server's credential
// through PolicySecret + PolicyOR; the server's MakeCredential encrypts to the P-384 or RSA-3072 EK.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import type { RunningServer } from '../../server/entry/node.ts'
import { type Swtpm, startSwtpm } from '../support/swtpm.ts'
import { capture, startPolicyServer } from './harness.ts'

let tpm384: Swtpm
let tpm3072: Swtpm
let dir: string
let server: RunningServer

beforeAll(async () => {
  ;[tpm384, tpm3072] = await Promise.all([startSwtpm({ name: 'ek-p384' }), startSwtpm({ name: 'ek-rsa3072', rsaKeySize: 3072 })])
  dir = await mkdtemp(join(tmpdir(), 'vouch-high-ek-'))
  server = await startPolicyServer(dir, [
    {
      name: 'ek',
      spiffeIDTemplate: '/agent/ek/{{tpm_ek.public_hash}}',
      requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: tpm384.ekCa.rootPem + tpm384.ekCa.intermediatePem } }],
    },
  ])
}, 120_000)

afterAll(async () => {
  await server?.close()
  await Promise.all([tpm384?.stop(), tpm3072?.stop()])
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function attest(tpm: Swtpm, name: string, config: Record<string, unknown>) {
  const cfgPath = join(dir, `${name}.yaml`)
  await writeFile(
    cfgPath,
    stringify({
      agent: {
        server: server.url,
        trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
        tpm: tpm.tcti,
        tpmBridge: 'pure',
        svidDir: join(dir, `svid-${name}`),
        attestors: [{ type: 'tpm_ek', config }],
      },
    }),
  )
  const io = capture()
  const code = await main(['agent', '--config', cfgPath, '--once'], io)
  return { code, io }
}

describe('vouch agent with high-range EKs (tpm_ek)', () => {
  it('ekAlgorithm ecc384: the P-384 EK certificate at 0x01c00016, activation through PolicyOR', async () => {
    const { code, io } = await attest(tpm384, 'p384', { ekAlgorithm: 'ecc384' })
    expect(io.errs.filter((l) => !l.startsWith('{')).join('\n')).toBe('')
    expect(code).toBe(0)
    const summary = JSON.parse(io.outs.at(-1)!) as { spiffeId: string; attestors: string[] }
    expect(summary.attestors).toEqual(['tpm_ek'])
    expect(summary.spiffeId).toMatch(/^spiffe:\/\/example\.org\/agent\/ek\/[0-9a-f]{64}$/)
  })

  it('ekAlgorithm rsa3072: the RSA-3072 EK certificate at 0x01c0001c', async () => {
    const { code, io } = await attest(tpm3072, 'rsa3072', { ekAlgorithm: 'rsa3072' })
    expect(io.errs.filter((l) => !l.startsWith('{')).join('\n')).toBe('')
    expect(code).toBe(0)
  })

  it('an explicit ekCertificateNvIndex is read instead of the template default', async () => {
    // the RSA-2048 index holds no certificate on the 3072 TPM: the agent names the index it tried
    const { code, io } = await attest(tpm3072, 'wrong-index', { ekAlgorithm: 'rsa3072', ekCertificateNvIndex: '0x01c00002' })
    expect(code).not.toBe(0)
    expect([...io.errs, ...io.outs].join('\n')).toMatch(/0x01c00002/)
  })

  it('ekAlgorithm ecc (P-256, low range) on a TPM that certifies only P-384: the missing index is named', async () => {
    const { code, io } = await attest(tpm384, 'p256', { ekAlgorithm: 'ecc' })
    expect(code).not.toBe(0)
    expect([...io.errs, ...io.outs].join('\n')).toMatch(/0x01c0000a/)
  })
})
