// End to end: `vouch devid provision` on a live swtpm (certificate from a test DevID CA), a vouch
// server in-process (TLS, policy trusting that CA and swtpm's EK CA), then `vouch agent --once`
// under Node (in-process) and under Bun (spawned) gets an X.509-SVID.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { makeCertificate } from '../../core/x509/make-certificate.ts'
import { parseCertificate } from '../../core/x509/certificate.ts'
import { parseServerConfig } from '../../server/config.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { capture, devidPolicy } from './harness.ts'

const ROOT = resolve(import.meta.dirname, '../..')
let tpm: Swtpm
let dir: string
let server: RunningServer
let caPath: string
let caKeyPath: string

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-e2e' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-agent-e2e-'))
  // a DevID CA (P-256, self-signed)
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey))
  const now = Date.now()
  const caDer = await makeCertificate(
    {
      subject: [{ type: 'CN', value: 'vouch test DevID CA' }],
      notBefore: now - 60_000,
      notAfter: now + 86_400_000,
      publicKey: spki,
      basicConstraints: { cA: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    kp.privateKey,
  )
  caPath = join(dir, 'devid-ca.pem')
  caKeyPath = join(dir, 'devid-ca.key')
  await writeFile(caPath, toPem('CERTIFICATE', caDer))
  await writeFile(caKeyPath, toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', kp.privateKey))))

  const policyPath = join(dir, 'policy.yaml')
  await writeFile(
    policyPath,
    stringify({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          devidPolicy(caDer, tpm.ekCa),
          {
            name: 'ek',
            requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem } }],
          },
        ],
      },
    }),
  )
  const cfg = parseServerConfig(
    stringify({ trustDomain: 'example.org', listen: '127.0.0.1:0', dataDir: join(dir, 'server'), policy: policyPath, tls: true }),
  )
  server = await startNodeServer(cfg, { write: () => {} })
}, 60_000)

afterAll(async () => {
  await server?.close()
  await tpm?.stop()
  if (dir && !process.env.VOUCH_KEEP) await rm(dir, { recursive: true, force: true })
})

async function agentConfig(name: string, extra: Record<string, unknown> = {}, attestor: Record<string, unknown> = {}): Promise<string> {
  const p = join(dir, `${name}.yaml`)
  await writeFile(
    p,
    stringify({
      agent: {
        server: server.url,
        trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
        tpm: tpm.tcti,
        svidDir: join(dir, `svid-${name}`),
        logLevel: 'debug',
        ...extra,
        attestors: [
          {
            type: 'tpm_devid',
            config: {
              devIDCertPath: join(dir, 'devid', 'devid.pem'),
              devIDPubPath: join(dir, 'devid', 'devid.pub'),
              devIDPrivPath: join(dir, 'devid', 'devid.priv'),
              devIDKeyPassword: 'devpw',
              ...attestor,
            },
          },
        ],
      },
    }),
  )
  return p
}

describe('vouch devid provision + vouch agent --once', () => {
  it('provisions a DevID (certificate from the CA) and a CSR', async () => {
    const io = capture()
    const code = await main(
      [
        'devid',
        'provision',
        '--tpm',
        tpm.tcti,
        '--key-type',
        'ecc',
        '--password',
        'devpw',
        '--out-dir',
        join(dir, 'devid'),
        '--ca-cert',
        caPath,
        '--ca-key',
        caKeyPath,
        '--subject-cn',
        'node-1',
        '--output',
        'json',
      ],
      io,
    )
    expect(io.errs.join('\n')).toBe('')
    expect(code).toBe(0)
    const out = JSON.parse(io.outs[0]!) as Record<string, string>
    expect(out.transport).toMatch(/native libtss2-tctildr/)
    const cert = parseCertificate(Buffer.from((await readFile(out.cert!, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64'))
    expect(JSON.stringify(cert.subject)).toContain('node-1')

    const io2 = capture()
    expect(
      await main(
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
          join(dir, 'devid-csr'),
          '--csr',
        ],
        io2,
      ),
    ).toBe(0)
    const csrPem = await readFile(join(dir, 'devid-csr', 'devid.csr'), 'utf8')
    const v = spawnSync('openssl', ['req', '-verify', '-noout'], { input: csrPem })
    expect(v.status).toBe(0)
    expect(`${v.stdout}${v.stderr}`).toMatch(/verify OK|Certificate request self-signature verify OK/)
  }, 30_000)

  it('attests under Node and writes the SVID', async () => {
    const io = capture()
    const code = await main(['agent', '--config', await agentConfig('node'), '--once'], io)
    expect(io.errs.filter((l) => !l.startsWith('{')).join('\n')).toBe('')
    expect(code).toBe(0)
    const s = JSON.parse(io.outs[0]!) as Record<string, string>
    expect(s.spiffeId).toMatch(/^spiffe:\/\/example\.org\/agent\/tpm_devid\//)
    const logs = io.errs.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(logs.find((l) => l.msg === 'Sending Login')).toMatchObject({ level: 'debug', attestors: ['tpm_devid'] })
    expect(logs.find((l) => l.msg === 'Connected to server')).toMatchObject({ level: 'info' })
    const svid = await readFile(s.svidPath!, 'utf8')
    expect(svid).toContain('BEGIN CERTIFICATE')
    const key = await readFile(s.keyPath!, 'utf8')
    expect(key).toContain('BEGIN PRIVATE KEY')
    // the SVID certifies the key the agent wrote
    const v = spawnSync('sh', [
      '-c',
      `openssl x509 -in "${s.svidPath}" -noout -pubkey | openssl sha256 && openssl pkey -in "${s.keyPath}" -pubout | openssl sha256`,
    ])
    const [a, b] = String(v.stdout).trim().split('\n')
    expect(a).toBe(b)
  }, 30_000)

  it('attests with tpm_ek only (no DevID)', async () => {
    const p = join(dir, 'ek.yaml')
    await writeFile(
      p,
      stringify({
        agent: {
          server: server.url,
          trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
          tpm: tpm.tcti,
          svidDir: join(dir, 'svid-ek'),
          attestors: [{ type: 'tpm_ek' }],
        },
      }),
    )
    const io = capture()
    const code = await main(['agent', '--config', p, '--once'], io)
    expect(io.errs.filter((l) => !l.startsWith('{')).join('\n')).toBe('')
    expect(code).toBe(0)
    const s = JSON.parse(io.outs[0]!) as Record<string, unknown>
    expect(s.attestors).toEqual(['tpm_ek'])
    expect(String(s.spiffeId)).toMatch(/^spiffe:\/\/example\.org\//)
  }, 30_000)

  it('a wrong DevID password fails with exit 1 naming it', async () => {
    const io = capture()
    expect(await main(['agent', '--config', await agentConfig('badpw', {}, { devIDKeyPassword: 'nope' }), '--once'], io)).toBe(1)
    expect(io.errs.join('\n')).toMatch(/TPM_RC_AUTH_FAIL.*the devIDKeyPassword is wrong/)
  }, 30_000)

  it('seed messages for missing and unreadable DevID files', async () => {
    const io = capture()
    expect(await main(['agent', '--config', await agentConfig('nocert', {}, { devIDCertPath: '' }), '--once'], io)).toBe(2)
    expect(io.errs.join('\n')).toContain('devIDCertPath is required')
    const io2 = capture()
    expect(
      await main(['agent', '--config', await agentConfig('missing', {}, { devIDPubPath: '/nonexistent/devid.pub' }), '--once'], io2),
    ).toBe(1)
    expect(io2.errs.join('\n')).toContain('read devIDPubPath /nonexistent/devid.pub: no such file or directory')
    const io3 = capture()
    expect(await main(['agent', '--config', await agentConfig('badcert', {}, { devIDCertPath: caKeyPath }), '--once'], io3)).toBe(1)
    expect(io3.errs.join('\n')).toContain(`parse DevID certificate from ${caKeyPath}`)
  })

  it('attests under Bun (spawned npx bun)', async () => {
    const cfg = await agentConfig('bun', { tpmBridge: 'pure' })
    // async spawn: the server runs in this process
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((res) => {
      const p = spawn('npx', ['bun', join(ROOT, 'bin/vouch.mjs'), 'agent', '--config', cfg, '--once'], { cwd: ROOT })
      let stdout = ''
      let stderr = ''
      p.stdout.on('data', (d: Buffer) => {
        stdout += d.toString()
      })
      p.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      p.on('close', (status) => res({ status, stdout, stderr }))
    })
    expect(
      r.stderr
        .split('\n')
        .filter((l) => l && !l.startsWith('{') && !l.startsWith('npm warn'))
        .join('\n'),
    ).toBe('')
    expect(r.status).toBe(0)
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>
    expect(s.spiffeId).toMatch(/^spiffe:\/\/example\.org\//)
    expect(s.transport).toBe(`tcp:127.0.0.1:${tpm.port}`)
  }, 60_000)
})
