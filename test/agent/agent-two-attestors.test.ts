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
import type { RunningServer } from '../../server/entry/node.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { capture, makeDevIdCa, provisionDevId, startPolicyServer } from './harness.ts'

let tpm: Swtpm
let dir: string
let server: RunningServer

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-two' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-agent-two-'))
  const caDer = await makeDevIdCa(dir, 'two-attestor DevID CA')
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
  await provisionDevId(tpm.tcti, dir, { keyType: 'rsa', subjectCn: 'node-two' })
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
