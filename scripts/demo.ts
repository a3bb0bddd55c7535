/**
 * `npm run demo`: vouch end to end against a fresh software TPM.
 *
 *   1. start a fresh swtpm whose EK certificate is issued by a local CA (swtpm_setup + swtpm_localca)
 *   2. core checks of the TPM's own evidence: the EK certificate chain (TCG EK profile), the EK
 *      certificate key against the TPM's EK, and a TPM2_Quote over a fresh nonce (tpm2-tools made it)
 *   3. provision a DevID in the TPM (`vouch devid provision`, certificate from a demo DevID CA)
 *   4. start the vouch server (TLS, SQLite registry, policy trusting the DevID CA and the EK CA)
 *   5. run the agent once (`vouch agent --once`): evidence -> challenge -> TPM answers -> verdict
 *   6. print the verdict (every check), the SPIFFE ID and the attributes
 * Exit 0 when everything verified, 1 otherwise. Everything lives in a temp dir, removed at exit.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { main } from '../cli/main.ts'
import { toHex } from '../core/bytes/encoding.ts'
import { parsePemCertificates, toPem } from '../core/bytes/pem.ts'
import { checkEkCertificateProfile } from '../core/ek/certificate.ts'
import { ekPublicHash } from '../core/ek/public-hash.ts'
import { splitPcrValues } from '../core/quote/pcr-digest.ts'
import { verifyQuote } from '../core/quote/verify.ts'
import { parseTpmsAttest } from '../core/tpm2/attest.ts'
import { TPM_ST } from '../core/tpm2/constants.ts'
import { publicKeyFromTpmtPublic, publicKeysEqual } from '../core/tpm2/public-key.ts'
import { parsePublicArea } from '../core/tpm2/public.ts'
import { parseTpmtSignature } from '../core/tpm2/signature.ts'
import { parseCertificate } from '../core/x509/certificate.ts'
import { makeCertificate } from '../core/x509/make-certificate.ts'
import { formatName } from '../core/x509/name.ts'
import { verifyChain } from '../core/x509/verify.ts'
import { parseServerConfig } from '../server/config.ts'
import { startNodeServer } from '../server/entry/node.ts'
// the swtpm lifecycle (ports, local CA, state dirs) is shared with the test suite
import { NV_EK_CERT_RSA, startSwtpm } from '../test/support/swtpm.ts'
import { Tpm2Tools } from '../test/support/tpm2-tools.ts'

const results: { ok: boolean; name: string; detail: string }[] = []
function report(ok: boolean, name: string, detail: string): void {
  results.push({ ok, name, detail })
  console.log(`  ${ok ? 'VALID  ' : 'INVALID'}  ${name.padEnd(36)} ${detail}`)
}
async function step(name: string, fn: () => Promise<string>): Promise<void> {
  try {
    report(true, name, await fn())
  } catch (e) {
    report(false, name, e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e))
  }
}
const capture = () => {
  const outs: string[] = []
  const errs: string[] = []
  return { outs, errs, io: { out: (l: string) => outs.push(l), err: (l: string) => errs.push(l) } }
}

const started = Date.now()
const dir = await mkdtemp(join(tmpdir(), 'vouch-demo-'))
console.log('vouch demo: a fresh software TPM attests to a vouch server and receives a SPIFFE identity\n')
const tpm = await startSwtpm({ name: 'demo' })
let server: Awaited<ReturnType<typeof startNodeServer>> | undefined
try {
  console.log(`TPM: swtpm on 127.0.0.1:${tpm.port}, fresh seeds, EK certificate from a local CA\n`)
  console.log("The TPM's own evidence, checked by vouch's core:")
  const tools = new Tpm2Tools(tpm)
  const ek = await tools.createEk('rsa')
  const ekCertDer = await tools.readEkCert(NV_EK_CERT_RSA)
  const ekCaPems = [tpm.ekCa.intermediatePem, tpm.ekCa.rootPem]
  await step('EK certificate chain (TCG profile)', async () => {
    const [intermediate, root] = ekCaPems.map((p) => parsePemCertificates(p)[0]!)
    const chain = await verifyChain({ leaf: ekCertDer, intermediates: [intermediate!], anchors: [root!], profile: 'ek' })
    const id = checkEkCertificateProfile(chain.path[0]!)
    return `${chain.path.map((c) => formatName(c.subject)).join(' <- ')}; TPM ${id.manufacturer} ${id.model} ${id.version}`
  })
  await step('EK certificate key == the TPM EK', async () => {
    const cert = parseCertificate(ekCertDer, { allowTrailingData: true })
    if (!publicKeysEqual(cert.publicKey, publicKeyFromTpmtPublic(parsePublicArea(ek.pub))))
      throw new Error('EK certificate is for another key')
    return `EK public hash ${(await ekPublicHash(cert.spki)).slice(0, 24)}…`
  })
  await step('TPM2_Quote over a fresh nonce', async () => {
    const ak = await tools.createAk(ek, 'rsa')
    const nonce = randomBytes(32)
    const q = await tools.quote(ak, 'sha256:0,1,2,7', nonce)
    const attest = parseTpmsAttest(q.attest)
    if (attest.type !== TPM_ST.ATTEST_QUOTE) throw new Error('not a quote')
    const input = {
      ak: parsePublicArea(ak.pub),
      attest,
      signature: parseTpmtSignature(q.sig),
      nonce,
      pcrValues: splitPcrValues(attest.attested.pcrSelect, q.pcrValues),
    }
    await verifyQuote(input)
    const replay = await verifyQuote({ ...input, nonce: randomBytes(32) }).then(
      () => 'accepted',
      (e: { code: string }) => e.code,
    )
    return `AK signature, nonce ${toHex(nonce).slice(0, 8)}…, PCR digest sha256:0,1,2,7; another nonce -> ${replay}`
  })

  console.log('\nDevID provisioning, server and agent:')
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const now = Date.now()
  const caDer = await makeCertificate(
    {
      subject: [
        { type: 'O', value: 'vouch demo' },
        { type: 'CN', value: 'vouch demo DevID CA' },
      ],
      notBefore: now - 60_000,
      notAfter: now + 365 * 86_400_000,
      publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
      basicConstraints: { cA: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    kp.privateKey,
  )
  await writeFile(join(dir, 'devid-ca.pem'), toPem('CERTIFICATE', caDer))
  await writeFile(join(dir, 'devid-ca.key'), toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', kp.privateKey))), {
    mode: 0o600,
  })
  await step('DevID provisioned in the TPM', async () => {
    const c = capture()
    const code = await main(
      [
        'devid',
        'provision',
        '--tpm',
        tpm.tcti,
        '--key-type',
        'ecc',
        '--out-dir',
        join(dir, 'devid'),
        '--ca-cert',
        join(dir, 'devid-ca.pem'),
        '--ca-key',
        join(dir, 'devid-ca.key'),
        '--subject-cn',
        'demo-node-1',
        '--output',
        'json',
      ],
      c.io,
    )
    if (code !== 0) throw new Error(c.errs.join(' ') || `exit ${code}`)
    const out = JSON.parse(c.outs[0]!) as { cert: string; transport: string }
    const leaf = parseCertificate(parsePemCertificates(await readFile(out.cert, 'utf8'))[0]!)
    return `P-256 key under SPIRE's SRK-High; certificate ${formatName(leaf.subject)} via ${out.transport}`
  })

  await writeFile(
    join(dir, 'policy.yaml'),
    stringify({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          {
            name: 'tpm_devid_policy',
            requiredAttestors: [
              {
                type: 'tpm_devid',
                config: {
                  devIDCACerts: toPem('CERTIFICATE', caDer),
                  endorsementCACerts: ekCaPems.join(''),
                },
              },
            ],
          },
        ],
      },
    }),
  )
  const config = parseServerConfig(
    stringify({
      trustDomain: 'example.org',
      listen: '127.0.0.1:0',
      dataDir: join(dir, 'server'),
      policy: join(dir, 'policy.yaml'),
      svidTtl: '1h',
    }),
  )
  server = await startNodeServer(config, { write: () => {} })
  report(true, 'vouch server listening', `${server.url} (TLS with its own CA, registry in SQLite)`)

  await writeFile(
    join(dir, 'agent.yaml'),
    stringify({
      agent: {
        server: server.url,
        trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
        tpm: tpm.tcti,
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
        ],
      },
    }),
  )
  const agent = capture()
  const code = await main(['agent', '--config', join(dir, 'agent.yaml'), '--once'], agent.io)
  if (code !== 0) {
    report(false, 'agent attestation', agent.errs.filter((l) => !l.startsWith('{')).join(' ') || `exit ${code}`)
  } else {
    const s = JSON.parse(agent.outs[0]!) as {
      spiffeId: string
      policy: string
      attributes: Record<string, string>
      checks: { name: string; ok: boolean; detail: string }[]
      svidPath: string
      expiresAt: string
      transport: string
    }
    report(true, 'agent attestation (tpm_devid)', `policy ${s.policy}, TPM via ${s.transport}`)
    console.log('\nVerdict: every check the server ran')
    for (const c of s.checks) report(c.ok, c.name, c.detail)
    console.log(`\nSPIFFE ID: ${s.spiffeId}`)
    console.log(`X.509-SVID: ${s.svidPath} (expires ${s.expiresAt})`)
    console.log('Attributes:')
    for (const [k, v] of Object.entries(s.attributes)) console.log(`  ${k.padEnd(40)} ${v}`)
  }
} finally {
  await server?.close()
  await tpm.stop()
  await rm(dir, { recursive: true, force: true })
}

const bad = results.filter((r) => !r.ok).length
console.log(
  `\n${bad === 0 ? 'all verified' : `${bad} step(s) INVALID`}: ${results.length - bad} valid, ${bad} invalid (${Date.now() - started} ms)`,
)
process.exitCode = bad === 0 ? 0 : 1
