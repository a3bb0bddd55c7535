// `vouch agent --once` offering BOTH attestors (tpm_devid and tpm_ek) to a server whose only policy
// requires both. The server issues one credential per attestor, each with its own secret
// (core/attestation/attestors/tpm-devid/, attestors/tpm-ek/), so the agent must activate each credential and answer
// each with HMAC(its own secret, binding) (docs/protocol.md "Key binding").
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { makeCertificate } from '../../core/x509/make-certificate.ts'
import type { RunningServer } from '../../server/entry/node.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { capture, startPolicyServer } from './harness.ts'

let tpm: Swtpm
let dir: string
let server: RunningServer

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-two' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-agent-two-'))
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const now = Date.now()
  const caDer = await makeCertificate(
    {
      subject: [{ type: 'CN', value: 'two-attestor DevID CA' }],
      notBefore: now - 60_000,
      notAfter: now + 86_400_000,
      publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
      basicConstraints: { cA: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    kp.privateKey,
  )
  await writeFile(join(dir, 'ca.pem'), toPem('CERTIFICATE', caDer))
  await writeFile(join(dir, 'ca.key'), toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', kp.privateKey))))
  const ekCas = tpm.ekCa.rootPem + tpm.ekCa.intermediatePem
  server = await startPolicyServer(dir, [
    {
      name: 'both',
      spiffeIDTemplate: '/agent/both/{{tpm_devid.certificate.serial_number}}',
      requiredAttestors: [
        { type: 'tpm_devid', config: { devIDCACerts: toPem('CERTIFICATE', caDer), endorsementCACerts: ekCas } },
        { type: 'tpm_ek', config: { endorsementCACerts: ekCas } },
      ],
    },
  ])
  const io = capture()
  const code = await main(
    [
      'devid',
      'provision',
      '--tpm',
      tpm.tcti,
      '--tpm-bridge',
      'pure',
      '--key-type',
      'rsa',
      '--out-dir',
      join(dir, 'devid'),
      '--ca-cert',
      join(dir, 'ca.pem'),
      '--ca-key',
      join(dir, 'ca.key'),
      '--subject-cn',
      'node-two',
    ],
    io,
  )
  if (code !== 0) throw new Error(`devid provision: ${io.errs.join('\n')}`)
}, 90_000)

afterAll(async () => {
  await server?.close()
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('vouch agent --once with tpm_devid + tpm_ek', () => {
  it('answers each attestor with its own activated secret and gets the SVID', async () => {
    const cfgPath = join(dir, 'agent.yaml')
    await writeFile(
      cfgPath,
      stringify({
        agent: {
          server: server.url,
          trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
          tpm: tpm.tcti,
          tpmBridge: 'pure',
          svidDir: join(dir, 'svid'),
          attestors: [
            {
              type: 'tpm_devid',
              config: {
                devIDCertPath: join(dir, 'devid', 'devid.pem'),
                devIDPubPath: join(dir, 'devid', 'devid.pub'),
                devIDPrivPath: join(dir, 'devid', 'devid.priv'),
              },
            },
            { type: 'tpm_ek', config: {} },
          ],
        },
      }),
    )
    const io = capture()
    const code = await main(['agent', '--config', cfgPath, '--once'], io)
    expect(io.errs.filter((l) => !l.startsWith('{')).join('\n')).toBe('')
    expect(code).toBe(0)
    const summary = JSON.parse(io.outs.at(-1)!) as { spiffeId: string; attestors: string[] }
    expect(summary.attestors).toEqual(['tpm_devid', 'tpm_ek'])
    expect(summary.spiffeId).toMatch(/^spiffe:\/\/example\.org\/agent\/both\//)
  }, 60_000)
})
