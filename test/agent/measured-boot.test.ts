// Measured boot end to end against swtpm: the test writes a firmware-like crypto-agile event log
// (Secure Boot on, PK, a db certificate, a dbx, two boot applications, a kernel command line),
// extends the same digests into swtpm's PCRs, and `vouch agent --once` attests with the log and a
// TPM2_Quote over the server's nonce. The policy passes; then each refusal runs once (secure boot
// off, a PCR value not allowed, a dbx hit, a log that does not replay, a quote by another key, a
// stale quote nonce), each seen with its code and message in the agent's output and the server log.
// A small proxy between agent and server plays the party in the middle for the last two.
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import { toHex } from '../../core/bytes/encoding.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { makeCertificate } from '../../core/x509/make-certificate.ts'
import { parseServerConfig } from '../../server/config.ts'
import { startNodeServer } from '../../server/entry/node.ts'
import { events, expectedPcrs, sha256, writeEventLog, type LogEvent } from '../support/event-log-writer.ts'
import { freePort } from '../support/free-port.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { Tpm2Tools } from '../support/tpm2-tools.ts'
import { capture, provisionDevId } from './harness.ts'

let tpm: Swtpm
let dir: string
let devIdCaPem: string
let dbCert: Uint8Array
let pkCert: Uint8Array
const SHIM = sha256(new TextEncoder().encode('shimx64.efi image'))
const GRUB = sha256(new TextEncoder().encode('grubx64.efi image'))
const REVOKED = sha256(new TextEncoder().encode('a revoked bootloader'))
const CMDLINE = 'BOOT_IMAGE=/vmlinuz-6.8 root=/dev/sda1 ro quiet'

async function selfSigned(cn: string): Promise<{ der: Uint8Array; key: CryptoKey }> {
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const now = Date.now()
  const der = await makeCertificate(
    {
      subject: [{ type: 'CN', value: cn }],
      notBefore: now - 60_000,
      notAfter: now + 86_400_000,
      publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
      basicConstraints: { cA: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    kp.privateKey,
  )
  return { der, key: kp.privateKey }
}

/** The firmware's log: Secure Boot `on`, PK, KEK, db, a dbx with `dbxHashes`, shim and GRUB, a kernel command line. */
function firmwareLog(o: { secureBoot?: boolean; dbxHashes?: Uint8Array[]; db?: Uint8Array } = {}): LogEvent[] {
  return [
    events.crtmVersion(),
    events.secureBoot(o.secureBoot ?? true),
    events.database('PK', [pkCert]),
    events.database('KEK', [pkCert]),
    events.database('db', [o.db ?? dbCert]),
    events.database('dbx', [], o.dbxHashes ?? [REVOKED]),
    ...[0, 1, 2, 3, 5, 6, 7].map(events.separator),
    events.action(4, 'Calling EFI Application from Boot Option'),
    events.separator(4),
    events.authority(dbCert),
    events.bootApplication(SHIM),
    events.bootApplication(GRUB),
    events.kernelCommandLine(CMDLINE),
  ]
}

/** Writes the log to `name` and, unless `extend` is false, extends its digests into swtpm's PCRs. */
async function installLog(list: LogEvent[], name: string, extend = true): Promise<{ path: string; pcrs: Map<number, Uint8Array> }> {
  const log = writeEventLog(list)
  const path = join(dir, name)
  await writeFile(path, log.bytes)
  if (extend) {
    const tools = new Tpm2Tools(tpm)
    for (const e of log.extends) await tools.exec('tpm2_pcrextend', [`${e.pcr}:sha256=${toHex(e.digest)}`])
  }
  return { path, pcrs: expectedPcrs(log.extends) }
}

interface Hooks {
  challenge?: (body: { challenges: Record<string, Record<string, unknown>> }) => void
  answer?: (body: { answers: Record<string, Record<string, Record<string, unknown>>> }) => Promise<void> | void
}

/** An HTTP proxy to `target` that lets the test rewrite the challenge and the answer. */
async function startProxy(target: string, hooks: Hooks): Promise<{ url: string; server: Server }> {
  const port = await freePort()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      let body = Buffer.concat(chunks).toString('utf8')
      if (req.url?.endsWith('/answer') && hooks.answer) {
        const json = JSON.parse(body)
        await hooks.answer(json)
        body = JSON.stringify(json)
      }
      const r = await fetch(new URL(req.url!, target), { method: req.method, headers: { 'content-type': 'application/json' }, body })
      let text = await r.text()
      if (req.url === '/v1/attest' && r.ok && hooks.challenge) {
        const json = JSON.parse(text)
        hooks.challenge(json)
        text = JSON.stringify(json)
      }
      res.writeHead(r.status, { 'content-type': 'application/json' })
      res.end(text)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${port}`, server }
}

interface Run {
  code: number
  errs: string
  serverLog: string
  summary?: { spiffeId: string; attributes: Record<string, string>; checks: { name: string; ok: boolean }[] }
}

let runs = 0
/** One server with a tpm_devid policy carrying `boot`, one `vouch agent --once` through the proxy. */
async function attest(
  boot: Record<string, unknown>,
  eventLogPath: string,
  hooks: Hooks = {},
  template?: string,
  type: 'tpm_devid' | 'tpm_ek' = 'tpm_devid',
): Promise<Run> {
  const n = ++runs
  const policyPath = join(dir, `policy-${n}.yaml`)
  await writeFile(
    policyPath,
    stringify({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          {
            name: 'measured',
            ...(template ? { spiffeIDTemplate: template } : {}),
            requiredAttestors: [
              type === 'tpm_devid'
                ? {
                    type,
                    config: { devIDCACerts: devIdCaPem, endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem, boot },
                  }
                : { type, config: { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem, boot } },
            ],
          },
        ],
      },
    }),
  )
  const serverLog: string[] = []
  const server = await startNodeServer(
    parseServerConfig(
      stringify({ trustDomain: 'example.org', listen: '127.0.0.1:0', dataDir: join(dir, `server-${n}`), policy: policyPath, tls: false }),
    ),
    { write: (l: string) => serverLog.push(l) },
  )
  const proxy = await startProxy(server.url, hooks)
  try {
    const cfgPath = join(dir, `agent-${n}.yaml`)
    await writeFile(
      cfgPath,
      stringify({
        agent: {
          server: proxy.url,
          insecureHttp: true, // the test proxy speaks plain HTTP
          tpm: tpm.tcti,
          tpmBridge: 'pure',
          svidDir: join(dir, `svid-${n}`),
          attestors: [
            type === 'tpm_devid'
              ? {
                  type,
                  config: {
                    devIDCertPath: join(dir, 'devid', 'devid.pem'),
                    devIDPubPath: join(dir, 'devid', 'devid.pub'),
                    devIDPrivPath: join(dir, 'devid', 'devid.priv'),
                    eventLogPath,
                  },
                }
              : { type, config: { eventLogPath } },
          ],
        },
      }),
    )
    const io = capture()
    const code = await main(['agent', '--config', cfgPath, '--once'], io)
    const last = io.outs.at(-1)
    return {
      code,
      errs: io.errs.join('\n'),
      serverLog: serverLog.join('\n'),
      ...(code === 0 && last ? { summary: JSON.parse(last) } : {}),
    }
  } finally {
    await new Promise((resolve) => proxy.server.close(resolve))
    await server.close()
  }
}

let good: { path: string; pcrs: Map<number, Uint8Array> }
let fullPolicy: Record<string, unknown>

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'measured-boot' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-measured-boot-'))
  const ca = await selfSigned('measured-boot DevID CA')
  devIdCaPem = toPem('CERTIFICATE', ca.der)
  dbCert = (await selfSigned('Test UEFI db CA 2026')).der
  pkCert = (await selfSigned('Test Platform Key')).der
  await writeFile(join(dir, 'ca.pem'), devIdCaPem)
  await writeFile(join(dir, 'ca.key'), toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', ca.key))))
  await provisionDevId(tpm.tcti, dir, { keyType: 'rsa', subjectCn: 'node-boot' })
  good = await installLog(firmwareLog(), 'good.bin')
  fullPolicy = {
    secureBoot: 'required',
    pcrs: { sha256: { '7': [toHex(good.pcrs.get(7)!)], '4': [toHex(good.pcrs.get(4)!)] } },
    db: { allowed: [toHex(sha256(dbCert))] },
    dbx: { required: [toHex(REVOKED)] },
    bootApplications: [toHex(SHIM), toHex(GRUB)],
    kernelCommandLine: 'BOOT_IMAGE=\\S+ root=\\S+ ro( quiet)?',
  }
}, 120_000)

afterAll(async () => {
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The refusal is in the agent's output and the server log, with its code and message. */
function expectRefused(r: Run, code: string, message: string | RegExp): void {
  expect(r.code).toBe(1)
  expect(r.errs).toContain(code)
  expect(r.serverLog).toContain(code)
  if (typeof message === 'string') {
    expect(r.errs).toContain(message)
    expect(r.serverLog).toContain(JSON.stringify(message).slice(1, -1))
  } else {
    expect(r.errs).toMatch(message)
    expect(r.serverLog).toMatch(message)
  }
}

let passNonce: string | undefined

describe('vouch agent with a boot policy (swtpm, firmware-like log)', () => {
  it('passes: quote by the attested AK, log replays, Secure Boot on, PCRs, db, dbx, boot applications and command line allowed', async () => {
    const r = await attest(
      fullPolicy,
      good.path,
      {
        challenge: (b) => {
          passNonce = (b.challenges.tpm_devid!.Quote as { Nonce: string }).Nonce
        },
      },
      '/node/{{tpm_devid.boot.secure_boot}}/{{tpm_devid.certificate.serial_number}}',
    )
    expect(
      r.errs
        .split('\n')
        .filter((l) => l && !l.startsWith('{'))
        .join('\n'),
    ).toBe('')
    expect(r.code).toBe(0)
    expect(r.summary!.spiffeId).toMatch(/^spiffe:\/\/example\.org\/node\/enabled\/[0-9a-f]+$/)
    const a = r.summary!.attributes
    expect(a['tpm_devid.boot.secure_boot']).toBe('enabled')
    expect(a['tpm_devid.boot.pcr.sha256.7']).toBe(toHex(good.pcrs.get(7)!))
    expect(a['tpm_devid.boot.pcr.sha256.0']).toBe(toHex(good.pcrs.get(0)!))
    expect(a['tpm_devid.boot.pk.fingerprint']).toBe(toHex(sha256(pkCert)))
    expect(a['tpm_devid.boot.db.fingerprints']).toBe(toHex(sha256(dbCert)))
    const names = r.summary!.checks.filter((c) => c.ok).map((c) => c.name)
    for (const n of ['quote', 'replay', 'secure_boot', 'pcrs', 'db', 'dbx', 'boot_applications', 'kernel_cmdline']) {
      expect(names).toContain(`tpm_devid.boot.${n}`)
    }
    expect(r.serverLog).toContain('"tpm_devid.boot.secure_boot":"enabled"')
  }, 60_000)

  it('tpm_ek with the same boot block: quote by its AK, tpm_ek.boot.* attributes', async () => {
    const r = await attest(fullPolicy, good.path, {}, '/ek/{{tpm_ek.boot.secure_boot}}/{{tpm_ek.public_hash}}', 'tpm_ek')
    expect(r.code).toBe(0)
    expect(r.summary!.spiffeId).toMatch(/^spiffe:\/\/example\.org\/ek\/enabled\/[0-9a-f]{64}$/)
    expect(r.summary!.attributes['tpm_ek.boot.pcr.sha256.7']).toBe(toHex(good.pcrs.get(7)!))
  }, 60_000)

  it('an answer without the Quote (an agent that does not know boot) is refused when the policy has boot', async () => {
    const r = await attest(fullPolicy, good.path, {
      answer: (b) => {
        delete b.answers.tpm_devid!.Quote
      },
    })
    expectRefused(r, 'ERR_BOOT_QUOTE_MISSING', 'tpm_devid: the policy has a boot block and the answer carries no Quote')
  }, 60_000)

  it('refuses a PCR value the policy does not allow, naming PCR, bank and value', async () => {
    const other = 'ab'.repeat(32)
    const r = await attest({ ...fullPolicy, pcrs: { sha256: { '7': [other] } } }, good.path)
    expectRefused(r, 'ERR_BOOT_PCR_NOT_ALLOWED', `PCR 7 of the sha256 bank is ${toHex(good.pcrs.get(7)!)}, not one of the 1 allowed values`)
  }, 60_000)

  it('refuses a log that does not replay to the quoted PCRs (the db event edited)', async () => {
    const edited = await installLog(firmwareLog({ db: pkCert }), 'edited.bin', false)
    const r = await attest(fullPolicy, edited.path)
    expectRefused(
      r,
      'ERR_BOOT_REPLAY_MISMATCH',
      `the event log does not replay to the quoted PCR 7 of the sha256 bank: the log gives ${toHex(edited.pcrs.get(7)!)}, the quote has ${toHex(good.pcrs.get(7)!)}`,
    )
  }, 60_000)

  it('refuses a quote signed by another key than the attested AK', async () => {
    const other = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair
    const r = await attest(fullPolicy, good.path, {
      answer: async (b) => {
        const q = b.answers.tpm_devid!.Quote as { Attest: string; Signature: string }
        const sig = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', other.privateKey, Buffer.from(q.Attest, 'base64')))
        // TPMT_SIGNATURE: sigAlg RSASSA, hash SHA256, TPM2B signature
        const t = Buffer.alloc(6 + sig.length)
        t.writeUInt16BE(0x0014, 0)
        t.writeUInt16BE(0x000b, 2)
        t.writeUInt16BE(sig.length, 4)
        t.set(sig, 6)
        q.Signature = t.toString('base64')
      },
    })
    expectRefused(r, 'ERR_BOOT_QUOTE_SIGNATURE', 'tpm_devid boot quote: not signed by the attested AK')
  }, 60_000)

  it('refuses a quote over a stale nonce (an earlier session’s)', async () => {
    expect(passNonce).toBeDefined()
    const r = await attest(fullPolicy, good.path, {
      challenge: (b) => {
        ;(b.challenges.tpm_devid!.Quote as { Nonce: string }).Nonce = passNonce!
      },
    })
    expectRefused(r, 'ERR_BOOT_QUOTE_NONCE', 'tpm_devid boot quote: quote extraData (32 bytes) is not the expected nonce (32 bytes)')
  }, 60_000)

  it('refuses Secure Boot off', async () => {
    await tpm.restart()
    const off = await installLog(firmwareLog({ secureBoot: false }), 'sb-off.bin')
    const r = await attest(fullPolicy, off.path)
    expectRefused(
      r,
      'ERR_BOOT_SECURE_BOOT',
      'the policy requires Secure Boot; the SecureBoot variable measured in PCR 7 of the verified log is off',
    )
  }, 60_000)

  it('refuses a boot application the dbx revokes', async () => {
    await tpm.restart()
    const hit = await installLog(firmwareLog({ dbxHashes: [REVOKED, GRUB] }), 'dbx-hit.bin')
    const r = await attest({ secureBoot: 'required' }, hit.path)
    expectRefused(r, 'ERR_BOOT_DBX_HIT', `boot application of event 18 (PCR 4, sha256 ${toHex(GRUB)}) is revoked by the dbx`)
  }, 60_000)
})
