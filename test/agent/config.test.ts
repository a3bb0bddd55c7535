import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadDevIdFiles } from '../../agent/attest.ts'
import { ConfigError, loadAgentConfig, parseAgentConfig, type TpmDevIdConfig } from '../../agent/config.ts'
import { encodeTpmtPublic, parseTpmtPublic } from '../../core/tpm2/public.ts'
import { devIdTemplate } from '../../core/tpm2/command/templates.ts'

const devid = (cfg: string) => `agent:\n  server: https://127.0.0.1:8081\n  attestors:\n    - type: tpm_devid\n      config:\n${cfg}`

describe('agent config', () => {
  it('parses a full tpm_devid + tpm_ek document', () => {
    const c = parseAgentConfig(`agent:
  server: https://vouch.example:8081
  trustBundlePath: /etc/vouch/bundle.pem
  tpm: swtpm:host=127.0.0.1,port=2321
  svidDir: /var/lib/vouch-agent
  attestors:
    - type: tpm_devid
      config: { devIDCertPath: /c.pem, devIDPubPath: /d.pub, devIDPrivPath: /d.priv, devIDKeyPassword: pw, ownerHierarchyPassword: o, endorsementHierarchyPassword: e }
    - type: tpm_ek
      config: { ekAlgorithm: ecc }
`)
    expect(c).toMatchObject({
      server: 'https://vouch.example:8081',
      tpm: 'swtpm:host=127.0.0.1,port=2321',
      tpmBridge: 'auto',
      svidDir: '/var/lib/vouch-agent',
      logLevel: 'info',
    })
    expect(c.attestors[0]).toEqual({
      type: 'tpm_devid',
      devIDCertPath: '/c.pem',
      devIDPubPath: '/d.pub',
      devIDPrivPath: '/d.priv',
      devIDKeyPassword: 'pw',
      ownerHierarchyPassword: 'o',
      endorsementHierarchyPassword: 'e',
      ekAlgorithm: 'rsa',
    })
    expect(c.attestors[1]).toEqual({ type: 'tpm_ek', ownerHierarchyPassword: '', endorsementHierarchyPassword: '', ekAlgorithm: 'ecc' })
  })
  it.each([
    ['        devIDPubPath: /p\n        devIDPrivPath: /q\n', 'devIDCertPath is required'],
    ['        devIDCertPath: /c\n        devIDPrivPath: /q\n', 'devIDPubPath is required'],
    ['        devIDCertPath: /c\n        devIDPubPath: /p\n', 'devIDPrivPath is required'],
  ])('seed message: %s', (cfg, msg) => {
    expect(() => parseAgentConfig(devid(cfg))).toThrow(new ConfigError(msg))
  })
  it('names bad keys', () => {
    expect(() => parseAgentConfig('agent:\n  attestors: []\n')).toThrow('agent.server is required')
    expect(() => parseAgentConfig('agent:\n  server: x\n')).toThrow('agent.server "x" is not a URL')
    expect(() => parseAgentConfig('agent:\n  server: http://a\n  attestors: [{ type: tpm }]\n')).toThrow(
      'agent.attestors[0].type: unknown attestor type "tpm"',
    )
    expect(() => parseAgentConfig('agent:\n  server: http://a\n  attestors: [{ type: tpm_ek, config: { ekAlgorithm: dsa } }]\n')).toThrow(
      'agent.attestors[0].config.ekAlgorithm must be one of rsa, ecc, rsa3072, ecc384, found "dsa"',
    )
    const ek = (config: string) => `agent:\n  server: https://a\n  attestors: [{ type: tpm_ek, config: ${config} }]\n`
    expect(parseAgentConfig(ek('{ ekAlgorithm: ecc384 }')).attestors[0]).toMatchObject({ ekAlgorithm: 'ecc384' })
    expect(parseAgentConfig(ek('{ ekCertificateNvIndex: "0x01c00016" }')).attestors[0]).toMatchObject({ ekCertificateNvIndex: 0x01c00016 })
    expect(() => parseAgentConfig(ek('{ ekCertificateNvIndex: "0x81010001" }'))).toThrow(
      'agent.attestors[0].config.ekCertificateNvIndex must be an NV index in 0x01c00000-0x01c07fff (for example 0x01c00016), found "0x81010001"',
    )
    expect(() => parseAgentConfig(ek('{ ekCertificateNvIndex: twelve }'))).toThrow(/ekCertificateNvIndex must be an NV index/)
  })
  it('missing config file', async () => {
    await expect(loadAgentConfig('/nonexistent/agent.yaml')).rejects.toThrow(
      'read config /nonexistent/agent.yaml: no such file or directory',
    )
  })
})

describe('DevID files (seed messages)', () => {
  async function files(pub: Uint8Array, cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'): Promise<TpmDevIdConfig> {
    const d = await mkdtemp(join(tmpdir(), 'vouch-devid-files-'))
    await writeFile(join(d, 'c.pem'), cert)
    await writeFile(join(d, 'd.pub'), pub)
    await writeFile(join(d, 'd.priv'), new Uint8Array(10))
    return {
      type: 'tpm_devid',
      devIDCertPath: join(d, 'c.pem'),
      devIDPubPath: join(d, 'd.pub'),
      devIDPrivPath: join(d, 'd.priv'),
      devIDKeyPassword: '',
      ownerHierarchyPassword: '',
      endorsementHierarchyPassword: '',
      ekAlgorithm: 'rsa',
    }
  }
  it('read errors name the key and path', async () => {
    const c = await files(devIdTemplate('ecc'))
    await expect(loadDevIdFiles({ ...c, devIDCertPath: '/nope/c.pem' })).rejects.toThrow(
      'read devIDCertPath /nope/c.pem: no such file or directory',
    )
    await expect(loadDevIdFiles({ ...c, devIDPubPath: '/nope/d.pub' })).rejects.toThrow(
      'read devIDPubPath /nope/d.pub: no such file or directory',
    )
    await expect(loadDevIdFiles({ ...c, devIDPrivPath: '/nope/d.priv' })).rejects.toThrow(
      'read devIDPrivPath /nope/d.priv: no such file or directory',
    )
  })
  it('an unparsable certificate', async () => {
    const c = await files(devIdTemplate('ecc'))
    await expect(loadDevIdFiles(c)).rejects.toThrow(`parse DevID certificate from ${c.devIDCertPath}`)
  })
  it('a SHA-384 DevID key is refused with the seed message', async () => {
    const p = parseTpmtPublic(devIdTemplate('ecc'))
    const sha384 = encodeTpmtPublic({ ...p, parameters: { ...p.parameters, scheme: { scheme: 0x0018, hashAlg: 0x000c } } } as never)
    const { makeCertificate } = await import('../../core/x509/make-certificate.ts')
    const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
    const der = await makeCertificate(
      {
        subject: [{ type: 'CN', value: 'x' }],
        notBefore: 0,
        notAfter: 1e13,
        publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
      },
      kp.privateKey,
    )
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`
    const c = await files(sha384, pem)
    await expect(loadDevIdFiles(c)).rejects.toThrow('DevID key has unsupported hash algorithm SHA384: only SHA-256 is supported')
  })
})

describe('agent config: server scheme', () => {
  const base = (server: string, extra = '') => `agent:\n  server: ${server}\n${extra}  attestors: [{ type: tpm_ek }]\n`
  it('refuses http:// with a message naming the risk and the way out', () => {
    expect(() => parseAgentConfig(base('http://vouch.example:8081'))).toThrow(
      /agent\.server "http:\/\/vouch\.example:8081" is http:\/\/: the evidence and the SVID would travel unencrypted.*agent\.insecureHttp: true \(or --insecure-http\)/,
    )
    expect(() => parseAgentConfig(base('ftp://vouch.example'))).toThrow(
      'agent.server "ftp://vouch.example": expected an https:// URL, found ftp:',
    )
  })
  it('allows http:// with agent.insecureHttp or the --insecure-http override; https:// needs neither', () => {
    expect(parseAgentConfig(base('http://a', '  insecureHttp: true\n')).insecureHttp).toBe(true)
    expect(parseAgentConfig(base('http://a'), 'config', { insecureHttp: true }).insecureHttp).toBe(true)
    expect(parseAgentConfig(base('https://a')).insecureHttp).toBe(false)
    expect(() => parseAgentConfig(base('http://a', '  insecureHttp: "yes"\n'))).toThrow('agent.insecureHttp must be true or false')
  })
})

describe('agent config: workloadApi', () => {
  const base = (block: string, server = 'https://a') => `agent:\n  server: ${server}\n  attestors: [{ type: tpm_ek }]\n${block}`
  it('absent: off, so agents without it are unchanged', () => {
    expect(parseAgentConfig(base('')).workloadApi).toBeUndefined()
    expect('workloadApi' in parseAgentConfig(base(''))).toBe(false)
  })
  it('present: the socket (default /run/vouch/agent.sock) and bounds with their defaults', () => {
    expect(parseAgentConfig(base('  workloadApi: { socketPath: /tmp/w.sock, maxEntries: 10 }\n')).workloadApi).toEqual({
      socketPath: '/tmp/w.sock',
      refreshIntervalSeconds: 30,
      maxEntries: 10,
      maxJwtSvids: 1000,
    })
    expect(parseAgentConfig(base('  workloadApi: {}\n')).workloadApi?.socketPath).toBe('/run/vouch/agent.sock')
  })
  it('names what is wrong', () => {
    expect(() => parseAgentConfig(base('  workloadApi: { socketPath: rel.sock }\n'))).toThrow(
      new ConfigError('agent.workloadApi.socketPath must be an absolute path, found "rel.sock"'),
    )
    expect(() => parseAgentConfig(base('  workloadApi: { socket: /x }\n'))).toThrow(
      'agent.workloadApi.socket: unknown key (socketPath, refreshIntervalSeconds, maxEntries, maxJwtSvids)',
    )
    expect(() => parseAgentConfig(base('  workloadApi: { maxEntries: 0 }\n'))).toThrow(
      'agent.workloadApi.maxEntries must be an integer in 1..100000',
    )
    expect(() => parseAgentConfig(base('  workloadApi: [1]\n'))).toThrow(/agent\.workloadApi must be a mapping/)
    expect(() => parseAgentConfig(base('  insecureHttp: true\n  workloadApi: {}\n', 'http://a'))).toThrow(
      'agent.workloadApi needs an https:// agent.server: workload SVIDs are fetched over mTLS with the node SVID',
    )
  })
})
