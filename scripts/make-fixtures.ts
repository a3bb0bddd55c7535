/**
 * Generates real TPM evidence with swtpm + swtpm_setup + tpm2-tools + openssl into an output dir
 * (default test/vectors/swtpm). Usage:
 *
 *   npx tsx scripts/make-fixtures.ts [outDir]        (npm run fixtures)
 *
 * Two independently manufactured TPMs (tpm-a with a P-256 EK cert at 0x01c0000a, tpm-b without),
 * EK certs from a fresh swtpm_localca CA, SPIRE-style keys under the exact SRK-High templates
 * (tpm-devid-protocol.md §7.1), a DevID CA (openssl, P-256 root + intermediate) issuing DevID leaf
 * certs for the TPM keys, certify / quote / sign outputs, SPIRE tpm_devid AttestationRequest payloads
 * (good and bent) and the swtpm state of both TPMs so tests can restart the SAME TPMs
 * (test/support/swtpm.ts startFixtureTpm). Writes manifest.json (every file: encoding, meaning, TPM,
 * expected verdict) and PROVENANCE.md. Nothing outside outDir and a temp dir is touched.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { certifyRaw } from '../test/support/raw-tpm.ts'
import {
  NV_EK_CERT_ECC_P256,
  NV_EK_CERT_ECC_P384_SWTPM,
  NV_EK_CERT_RSA,
  NV_PLATFORM_CERT_SWTPM,
  run,
  startSwtpm,
  type Swtpm,
} from '../test/support/swtpm.ts'
import { Tpm2Tools, type KeyBlobs, type TpmObject } from '../test/support/tpm2-tools.ts'

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const FINAL = resolve(process.argv[2] ?? join(REPO, 'test', 'vectors', 'swtpm'))
/** staging dir: everything is written here, then moved to FINAL only when the whole run succeeded */
let OUT = ''

/** TPMA_OBJECT sets (spec §7.1) as tpm2-tools attribute lists */
const AK_ATTRS = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' // 0x00050072
const DEVID_ATTRS = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' // 0x00040072
const PCRS = 'sha256:0,1,2,7'
const H_AK = 0x81010100
const H_OBJ = 0x81010101

type Encoding =
  | 'x509-der'
  | 'x509-pem'
  | 'pkcs8-pem'
  | 'spki-pem'
  | 'tpm2b-public'
  | 'tpmt-public'
  | 'tpm2b-private'
  | 'tpm-name'
  | 'tpms-attest'
  | 'tpmt-signature'
  | 'rsa-pkcs1v15-raw'
  | 'ecdsa-der'
  | 'pcr-values'
  | 'bytes'
  | 'json'
  | 'swtpm-state'

interface FileEntry {
  path: string
  encoding: Encoding
  tpm?: string
  meaning: string
  expect?: 'valid' | 'invalid'
}
interface SetEntry {
  name: string
  path: string
  attestor: 'tpm_devid' | 'tpm_ek'
  tpm: string
  /** TPM that can answer the challenge (startFixtureTpm) */
  liveTpm: string
  expect: 'accept' | 'reject'
  failsAt?: string
  reason: string
}

const files: FileEntry[] = []
const sets: SetEntry[] = []
const commands: string[] = []

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
/** TPM2B_PUBLIC -> TPMT_PUBLIC (strip the u16 size) */
const tpmt = (tpm2b: Uint8Array) => tpm2b.slice(2)

async function put(rel: string, data: Uint8Array | string, entry: Omit<FileEntry, 'path'>): Promise<void> {
  const path = join(OUT, rel)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, data)
  files.push({ path: rel, ...entry })
}

async function sh(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  commands.push([file, ...args].join(' '))
  return (await run(file, args, opts)).stdout
}

async function pemToDer(pem: string): Promise<Uint8Array> {
  const b = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')
  return new Uint8Array(Buffer.from(b, 'base64'))
}

// ---------------------------------------------------------------- DevID CA (openssl)
interface DevIdCa {
  dir: string
  rootPem: string
  intPem: string
  intKey: string
  intCert: string
  rootCert: string
}

/**
 * A DevID CA: root + pathlen-0 intermediate, P-256 (`devid-ca`, issues every DevID leaf) or
 * RSA-2048 (`devid-ca-rsa`, issues tpm-a's RSA DevID a second certificate, so one evidence set is
 * RSA end to end: DevID chain, DevID, AK and EK).
 */
async function makeDevIdCa(work: string, alg: 'p256' | 'rsa2048' = 'p256'): Promise<DevIdCa> {
  const dir = join(work, alg === 'p256' ? 'devid-ca' : 'devid-ca-rsa')
  const kind = alg === 'p256' ? '' : 'RSA '
  const genKey = (out: string) =>
    alg === 'p256'
      ? sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out])
      : sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', out])
  await mkdir(dir, { recursive: true })
  const rootKey = join(dir, 'root.key')
  const rootCert = join(dir, 'root.pem')
  const intKey = join(dir, 'intermediate.key')
  const intCsr = join(dir, 'intermediate.csr')
  const intCert = join(dir, 'intermediate.pem')
  const intExt = join(dir, 'intermediate.ext')
  await genKey(rootKey)
  await sh('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    rootKey,
    '-sha256',
    '-days',
    '7300',
    '-subj',
    `/O=vouch test/CN=vouch test DevID ${kind}Root CA`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-addext',
    'subjectKeyIdentifier=hash',
    '-out',
    rootCert,
  ])
  await genKey(intKey)
  await sh('openssl', ['req', '-new', '-key', intKey, '-subj', `/O=vouch test/CN=vouch test DevID ${kind}Intermediate CA`, '-out', intCsr])
  await writeFile(
    intExt,
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  )
  await sh('openssl', [
    'x509',
    '-req',
    '-in',
    intCsr,
    '-CA',
    rootCert,
    '-CAkey',
    rootKey,
    '-days',
    '7300',
    '-sha256',
    '-set_serial',
    '0x1001',
    '-extfile',
    intExt,
    '-out',
    intCert,
  ])
  return { dir, rootPem: await readFile(rootCert, 'utf8'), intPem: await readFile(intCert, 'utf8'), intKey, intCert, rootCert }
}

/** IDevID-style leaf (802.1AR hardwareModuleName SAN) for a TPM public key, no CSR (-force_pubkey). */
async function issueDevIdCert(ca: DevIdCa, spkiPem: string, label: string, serial: string): Promise<{ pem: string; der: Uint8Array }> {
  const keyPath = join(ca.dir, `${label}.spki.pem`)
  const ext = join(ca.dir, `${label}.ext`)
  const out = join(ca.dir, `${label}.crt.pem`)
  await writeFile(keyPath, spkiPem)
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      'subjectAltName=otherName:1.3.6.1.5.5.7.8.4;SEQUENCE:hmn',
      '[hmn]',
      'hwType=OID:2.23.133.1.2',
      `hwSerial=FORMAT:HEX,OCTETSTRING:${Buffer.from(serial).toString('hex')}`,
      '',
    ].join('\n'),
  )
  await sh('openssl', [
    'x509',
    '-new',
    '-subj',
    `/O=vouch test/serialNumber=${serial}/CN=${label}`,
    '-force_pubkey',
    keyPath,
    '-CA',
    ca.intCert,
    '-CAkey',
    ca.intKey,
    '-days',
    '3650',
    '-sha256',
    '-set_serial',
    `0x${createHash('sha256').update(label).digest('hex').slice(0, 16)}`,
    '-extfile',
    ext,
    '-out',
    out,
  ])
  await sh('openssl', ['verify', '-CAfile', ca.rootCert, '-untrusted', ca.intCert, out])
  const pem = await readFile(out, 'utf8')
  return { pem, der: await pemToDer(pem) }
}

// ---------------------------------------------------------------- per-TPM evidence
interface TpmEvidence {
  name: string
  tpm: Swtpm
  tools: Tpm2Tools
  ekRsa: TpmObject
  ekRsaCert: Uint8Array
  srkRsa: TpmObject
  srkEcc: TpmObject
  akRsa: TpmObject
  akEcc: TpmObject
  devidRsa: TpmObject & { blobs: KeyBlobs; cert: Uint8Array; certPem: string }
  devidP256: TpmObject & { blobs: KeyBlobs; cert: Uint8Array; certPem: string }
}

async function putPublic(prefix: string, obj: Pick<TpmObject, 'pub' | 'pem' | 'name'>, tpm: string, what: string): Promise<void> {
  await put(`${prefix}.pub`, obj.pub, { encoding: 'tpm2b-public', tpm, meaning: `${what}: TPM2B_PUBLIC as tpm2-tools writes it` })
  await put(`${prefix}.tpmt`, tpmt(obj.pub), {
    encoding: 'tpmt-public',
    tpm,
    meaning: `${what}: TPMT_PUBLIC (wire form of SPIRE's *Pub fields)`,
  })
  await put(`${prefix}.pem`, obj.pem, { encoding: 'spki-pem', tpm, meaning: `${what}: SubjectPublicKeyInfo (tpm2_readpublic -f pem)` })
  await put(`${prefix}.name`, obj.name, { encoding: 'tpm-name', tpm, meaning: `${what}: Name = nameAlg || H(TPMT_PUBLIC)` })
}

/** Raw TPM2_Certify with empty qualifyingData (what SPIRE's agent sends): persist both keys, certify, evict. */
async function certifyEmpty(
  e: { tpm: Swtpm; tools: Tpm2Tools },
  object: TpmObject,
  ak: TpmObject,
): Promise<{ attest: Uint8Array; sig: Uint8Array }> {
  await e.tools.evict(ak, H_AK)
  await e.tools.evict(object, H_OBJ)
  try {
    commands.push(`raw TPM2_Certify(object 0x${H_OBJ.toString(16)}, signer 0x${H_AK.toString(16)}, qualifyingData empty, inScheme NULL)`)
    return await certifyRaw(e.tpm.port, H_OBJ, H_AK, new Uint8Array(0))
  } finally {
    await e.tools.exec('tpm2_evictcontrol', ['-C', 'o', '-c', `0x${H_OBJ.toString(16)}`])
    await e.tools.exec('tpm2_evictcontrol', ['-C', 'o', '-c', `0x${H_AK.toString(16)}`])
  }
}

async function putCertify(
  prefix: string,
  e: TpmEvidence | { name: string; tpm: Swtpm; tools: Tpm2Tools },
  object: TpmObject,
  ak: TpmObject,
  what: string,
  expect: 'valid' | 'invalid' = 'valid',
): Promise<{ attest: Uint8Array; sig: Uint8Array }> {
  const empty = await certifyEmpty(e, object, ak)
  await put(`${prefix}.attest`, empty.attest, {
    encoding: 'tpms-attest',
    tpm: e.name,
    meaning: `${what}: TPMS_ATTEST (TPM_ST_ATTEST_CERTIFY), qualifyingData empty (raw TPM2_Certify, as SPIRE's agent)`,
    expect,
  })
  await put(`${prefix}.sig`, empty.sig, {
    encoding: 'tpmt-signature',
    tpm: e.name,
    meaning: `${what}: TPMT_SIGNATURE over ${prefix}.attest`,
    expect,
  })
  const tools = await e.tools.certify(object, ak)
  await put(`${prefix}.tools.attest`, tools.attest, {
    encoding: 'tpms-attest',
    tpm: e.name,
    meaning: `${what}: TPMS_ATTEST from tpm2_certify 5.4 (extraData is always 00ff55aa)`,
    expect,
  })
  await put(`${prefix}.tools.sig`, tools.sig, {
    encoding: 'tpmt-signature',
    tpm: e.name,
    meaning: `${what}: TPMT_SIGNATURE over ${prefix}.tools.attest`,
    expect,
  })
  return empty
}

async function makeKey(
  t: Tpm2Tools,
  parent: TpmObject,
  alg: 'rsa' | 'ecc256',
  attrs: string,
  hash: 'sha256' | 'sha384',
  label: string,
): Promise<TpmObject & { blobs: KeyBlobs }> {
  const blobs = await t.createKey(parent, { alg, hash, attributes: attrs })
  commands.push(
    `tpm2_create -C <srk> -G ${alg === 'rsa' ? `rsa2048:rsassa-${hash}:null` : `ecc256:ecdsa-${hash}:null`} -g sha256 -a '${attrs}' -u ${label}.pub -r ${label}.priv`,
  )
  const loaded = await t.load(parent, blobs, label)
  return { ...loaded, blobs }
}

async function provision(name: string, opts: { p256: boolean }, caDir: string, devidCa: DevIdCa, work: string): Promise<TpmEvidence> {
  const tpm = await startSwtpm({ name, caDir, eccP256EkCert: opts.p256, platformCert: opts.p256, tmpRoot: work })
  commands.push(
    `swtpm_setup --tpm2 --tpmstate <state> --pcr-banks sha1,sha256 --config <per-instance swtpm_setup.conf -> swtpm_localca> --create-ek-cert${opts.p256 ? ' --create-platform-cert' : ''} --write-ek-cert-files <state> --overwrite`,
  )
  commands.push(
    'swtpm socket --tpm2 --tpmstate dir=<state> --server type=tcp,port=P,bindaddr=127.0.0.1 --ctrl type=tcp,port=P+1,bindaddr=127.0.0.1 --flags not-need-init,startup-clear --daemon',
  )
  const t = new Tpm2Tools(tpm)
  const d = name

  // EK certificates from NV and EK publics from the TCG default templates
  const ekRsaCert = await t.readEkCert(NV_EK_CERT_RSA)
  await put(`${d}/ek-rsa.crt.der`, ekRsaCert, {
    encoding: 'x509-der',
    tpm: d,
    meaning: 'RSA-2048 EK certificate from NV 0x01c00002 (swtpm_localca)',
    expect: 'valid',
  })
  const ekP384Cert = await t.readEkCert(NV_EK_CERT_ECC_P384_SWTPM)
  await put(`${d}/ek-p384.crt.der`, ekP384Cert, {
    encoding: 'x509-der',
    tpm: d,
    meaning: 'P-384 EK certificate from NV 0x01c00016 (swtpm 0.7.1 high-range placement)',
    expect: 'valid',
  })
  const ekRsa = await t.createEk('rsa')
  commands.push('tpm2_createek -c ek.ctx -G rsa -u ek-rsa.pub -f tss')
  await putPublic(`${d}/ek-rsa`, ekRsa, d, 'RSA EK (TCG template L-1)')
  if (opts.p256) {
    const ekP256Cert = await t.readEkCert(NV_EK_CERT_ECC_P256)
    await put(`${d}/ek-p256.crt.der`, ekP256Cert, {
      encoding: 'x509-der',
      tpm: d,
      meaning: 'P-256 EK certificate at NV 0x01c0000a (added by the harness, same swtpm_localca)',
      expect: 'valid',
    })
    const ekP256 = await t.createEk('ecc')
    commands.push('tpm2_createek -c ek.ctx -G ecc -u ek-p256.pub -f tss')
    await putPublic(`${d}/ek-p256`, ekP256, d, 'P-256 EK (TCG template L-2)')
    const platform = await t.readEkCert(NV_PLATFORM_CERT_SWTPM)
    await put(`${d}/platform.crt.der`, platform, {
      encoding: 'x509-der',
      tpm: d,
      meaning: 'swtpm "platform certificate" from NV 0x01c08000 (a public-key cert, not an attribute cert)',
    })
  }

  // SPIRE SRK-High templates (spec §7.1) and the keys under them
  const srkRsa = await t.createSrk('rsa')
  const srkEcc = await t.createSrk('ecc')
  commands.push(
    "tpm2_createprimary -C o -g sha256 -G rsa2048:null:aes128cfb -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' --template-data srk-rsa.template",
  )
  commands.push(
    "tpm2_createprimary -C o -g sha256 -G ecc256:null:aes128cfb -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' --template-data srk-ecc.template",
  )
  await put(`${d}/srk-rsa.template`, srkRsa.template, {
    encoding: 'tpmt-public',
    tpm: d,
    meaning: 'the TPMT_PUBLIC template tpm2_createprimary sent for SRK-High-RSA (unique empty: bit-identical to SPIRE)',
  })
  await put(`${d}/srk-ecc.template`, srkEcc.template, {
    encoding: 'tpmt-public',
    tpm: d,
    meaning: 'the TPMT_PUBLIC template sent for SRK-High-ECC (x, y empty)',
  })
  await putPublic(`${d}/srk-rsa`, srkRsa, d, 'SRK-High-RSA primary (derived from the owner seed in state/)')
  await putPublic(`${d}/srk-ecc`, srkEcc, d, 'SRK-High-ECC primary')

  const akRsa = await makeKey(t, srkRsa, 'rsa', AK_ATTRS, 'sha256', 'ak-rsa')
  await putPublic(`${d}/ak-rsa`, akRsa, d, 'AK RSA-2048 RSASSA-SHA256, attrs 0x00050072, under SRK-High-RSA (SPIRE agent layout)')
  await put(`${d}/ak-rsa.priv`, akRsa.blobs.priv, {
    encoding: 'tpm2b-private',
    tpm: d,
    meaning: 'AK private blob, loads under SRK-High-RSA of this TPM only',
  })
  const akEcc = await makeKey(t, srkEcc, 'ecc256', AK_ATTRS, 'sha256', 'ak-ecc')
  await putPublic(
    `${d}/ak-ecc`,
    akEcc,
    d,
    'AK P-256 ECDSA-SHA256, restricted signing, under SRK-High-ECC (vouch extension; SPIRE only RSA)',
  )
  await put(`${d}/ak-ecc.priv`, akEcc.blobs.priv, { encoding: 'tpm2b-private', tpm: d, meaning: 'AK private blob under SRK-High-ECC' })

  const devid = async (alg: 'rsa' | 'ecc256', label: string, srk: TpmObject) => {
    const k = await makeKey(t, srk, alg, DEVID_ATTRS, 'sha256', label)
    const cert = await issueDevIdCert(devidCa, k.pem, `${d}-${label}`, `${d.toUpperCase()}-${label.toUpperCase()}`)
    await putPublic(
      `${d}/${label}`,
      k,
      d,
      `DevID ${alg === 'rsa' ? 'RSA-2048 RSASSA-SHA256' : 'P-256 ECDSA-SHA256'}, attrs 0x00040072, under SRK-High-${alg === 'rsa' ? 'RSA' : 'ECC'}`,
    )
    await put(`${d}/${label}.priv`, k.blobs.priv, {
      encoding: 'tpm2b-private',
      tpm: d,
      meaning: `DevID private blob, loads under SRK-High-${alg === 'rsa' ? 'RSA' : 'ECC'} of this TPM only`,
    })
    await put(`${d}/${label}.crt.der`, cert.der, {
      encoding: 'x509-der',
      tpm: d,
      meaning: 'DevID leaf certificate (devid-ca intermediate), SPKI = this TPM key',
      expect: 'valid',
    })
    await put(`${d}/${label}.crt.pem`, cert.pem, { encoding: 'x509-pem', tpm: d, meaning: 'same DevID leaf as PEM' })
    return { ...k, cert: cert.der, certPem: cert.pem }
  }
  const devidRsa = await devid('rsa', 'devid-rsa', srkRsa)
  const devidP256 = await devid('ecc256', 'devid-p256', srkEcc)

  const e: TpmEvidence = { name, tpm, tools: t, ekRsa, ekRsaCert, srkRsa, srkEcc, akRsa, akEcc, devidRsa, devidP256 }

  // certify DevIDs by the AKs
  await putCertify(`${d}/certify-devid-rsa-by-ak-rsa`, e, devidRsa, akRsa, 'TPM2_Certify(DevID RSA by AK RSA)')
  await putCertify(`${d}/certify-devid-p256-by-ak-rsa`, e, devidP256, akRsa, 'TPM2_Certify(DevID P-256 by AK RSA)')
  await putCertify(`${d}/certify-devid-p256-by-ak-ecc`, e, devidP256, akEcc, 'TPM2_Certify(DevID P-256 by AK ECC)')

  // PCRs: extend a couple so the quoted values are not all zero, then quote with a nonce
  await t.exec('tpm2_pcrextend', [`1:sha256=${createHash('sha256').update(`vouch fixture ${d} pcr1`).digest('hex')}`])
  await t.exec('tpm2_pcrextend', [`7:sha256=${createHash('sha256').update(`vouch fixture ${d} secure boot`).digest('hex')}`])
  commands.push('tpm2_pcrextend 1:sha256=<H(label)>; tpm2_pcrextend 7:sha256=<H(label)>')
  for (const [label, ak] of [
    ['ak-rsa', akRsa],
    ['ak-ecc', akEcc],
  ] as const) {
    const nonce = new Uint8Array(createHash('sha256').update(`vouch fixture ${d} quote nonce ${label}`).digest())
    const q = await t.quote(ak, PCRS, nonce)
    commands.push(`tpm2_quote -c ${label}.ctx -l ${PCRS} -q <nonce hex> -g sha256 -m quote.msg -s quote.sig -f tss -o quote.pcrs -F values`)
    if (!(await t.checkquote(ak.pubPath, q, nonce, PCRS))) throw new Error(`tpm2_checkquote rejected the ${d} ${label} quote`)
    commands.push('tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -F values -l sha256:0,1,2,7 -g sha256 -q <nonce hex>')
    const p = `${d}/quote-${label}`
    await put(`${p}.msg`, q.attest, {
      encoding: 'tpms-attest',
      tpm: d,
      meaning: `TPM2_Quote(${PCRS}) by ${label}: TPMS_ATTEST (TPM_ST_ATTEST_QUOTE), extraData = ${label === 'ak-rsa' ? 'quote-ak-rsa' : 'quote-ak-ecc'}.nonce`,
      expect: 'valid',
    })
    await put(`${p}.sig`, q.sig, { encoding: 'tpmt-signature', tpm: d, meaning: `TPMT_SIGNATURE over quote-${label}.msg`, expect: 'valid' })
    await put(`${p}.pcrs`, q.pcrValues, {
      encoding: 'pcr-values',
      tpm: d,
      meaning: `PCR values ${PCRS} concatenated in selection order (tpm2_quote -F values); pcrDigest = SHA-256 of this`,
    })
    await put(`${p}.nonce`, nonce, { encoding: 'bytes', tpm: d, meaning: 'the 32-byte qualifyingData of this quote' })
  }

  // DevID proof of possession over a nonce (SPIRE: SHA-256, PKCS#1 v1.5 / DER ECDSA)
  for (const [label, key] of [
    ['devid-rsa', devidRsa],
    ['devid-p256', devidP256],
  ] as const) {
    const data = new Uint8Array(createHash('sha256').update(`vouch fixture ${d} devid nonce ${label}`).digest())
    const plain = await t.sign(key, data, { format: 'plain' })
    const tss = await t.sign(key, data, { format: 'tss' })
    commands.push(`tpm2_sign -c ${label}.ctx -g sha256 -f plain|tss -o sig nonce`)
    const dataPath = join(tpm.workDir, `${label}.nonce`)
    const sigPath = join(tpm.workDir, `${label}.sig`)
    const pemPath = join(tpm.workDir, `${label}.spki.pem`)
    await writeFile(dataPath, data)
    await writeFile(sigPath, plain)
    await writeFile(pemPath, key.pem)
    await sh('openssl', ['dgst', '-sha256', '-verify', pemPath, '-signature', sigPath, dataPath])
    await put(`${d}/sign-${label}.data`, data, { encoding: 'bytes', tpm: d, meaning: 'a 32-byte challenge nonce signed by the DevID' })
    await put(`${d}/sign-${label}.sig`, plain, {
      encoding: label === 'devid-rsa' ? 'rsa-pkcs1v15-raw' : 'ecdsa-der',
      tpm: d,
      meaning: 'TPM2_Sign(SHA-256(data)) as SPIRE sends it (tpm2_sign -f plain); openssl-verified',
      expect: 'valid',
    })
    await put(`${d}/sign-${label}.sig.tss`, tss, {
      encoding: 'tpmt-signature',
      tpm: d,
      meaning: 'the same signature operation as TPMT_SIGNATURE',
      expect: 'valid',
    })
  }
  return e
}

/** SPIRE AttestationRequest (tpm_devid) as Go encoding/json writes it. */
function devidPayload(p: {
  devidCert: Uint8Array
  intermediates: Uint8Array[]
  devidPub: Uint8Array
  ekCert: Uint8Array
  ekPub: Uint8Array
  akPub: Uint8Array
  certify: { attest: Uint8Array; sig: Uint8Array }
}) {
  return {
    DevIDCert: [b64(p.devidCert), ...p.intermediates.map(b64)],
    DevIDPub: b64(tpmt(p.devidPub)),
    EKCert: b64(p.ekCert),
    EKPub: b64(tpmt(p.ekPub)),
    AKPub: b64(tpmt(p.akPub)),
    CertifiedDevID: b64(p.certify.attest),
    CertificationSignature: b64(p.certify.sig),
  }
}

async function putSet(entry: Omit<SetEntry, 'path'>, payload: object): Promise<void> {
  const path = `sets/${entry.name}.json`
  await put(path, `${JSON.stringify(payload, null, 2)}\n`, {
    encoding: 'json',
    tpm: entry.tpm,
    meaning: `${entry.attestor} evidence: ${entry.reason}`,
    expect: entry.expect === 'accept' ? 'valid' : 'invalid',
  })
  sets.push({ ...entry, path })
}

async function toolVersions(): Promise<Record<string, string>> {
  // swtpm_setup --version exits 1 while printing its version
  const first = async (f: string, a: string[]) => {
    const out = await run(f, a).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    )
    return out.split('\n')[0]!.trim()
  }
  return {
    swtpm: await first('swtpm', ['--version']),
    swtpm_setup: await first('swtpm_setup', ['--version']),
    'tpm2-tools': await first('tpm2_createek', ['--version']),
    openssl: await first('openssl', ['version']),
    certtool: await first('certtool', ['--version']),
    node: process.version,
  }
}

async function main(): Promise<void> {
  if (existsSync(FINAL) && readdirSync(FINAL).length > 0 && !existsSync(join(FINAL, 'manifest.json'))) {
    throw new Error(`refusing to overwrite ${FINAL}: not empty and no manifest.json`)
  }
  const work = await mkdtemp(join(tmpdir(), 'vouch-fixtures-'))
  OUT = join(work, 'out')
  await mkdir(OUT, { recursive: true })
  const started: Swtpm[] = []
  try {
    const caDir = join(work, 'ek-ca')
    const devidCa = await makeDevIdCa(work)
    const devidCaRsa = await makeDevIdCa(work, 'rsa2048')
    const a = await provision('tpm-a', { p256: true }, caDir, devidCa, work)
    started.push(a.tpm)
    const b = await provision('tpm-b', { p256: false }, caDir, devidCa, work)
    started.push(b.tpm)

    // CAs: public certs (and the test-only DevID CA keys, so tests can mint more leaves under the same root)
    await put('ek-ca/swtpm-localca-rootca-cert.pem', await readFile(join(caDir, 'swtpm-localca-rootca-cert.pem'), 'utf8'), {
      encoding: 'x509-pem',
      meaning: 'EK root CA (swtpm_localca, RSA-3072, CN=swtpm-localca-rootca): EK trust anchor',
    })
    await put('ek-ca/issuercert.pem', await readFile(join(caDir, 'issuercert.pem'), 'utf8'), {
      encoding: 'x509-pem',
      meaning: 'EK intermediate CA (CN=swtpm-localca) that signed every EK cert',
    })
    await put('devid-ca/root.pem', devidCa.rootPem, {
      encoding: 'x509-pem',
      meaning: 'DevID root CA (P-256): the devid_ca_path trust anchor',
    })
    await put('devid-ca/intermediate.pem', devidCa.intPem, {
      encoding: 'x509-pem',
      meaning: 'DevID intermediate CA (pathlen 0) that issued the DevID leaves',
    })
    await put('devid-ca/intermediate.key', await readFile(devidCa.intKey, 'utf8'), {
      encoding: 'pkcs8-pem',
      meaning: 'TEST-ONLY private key of the DevID intermediate (to mint extra leaves in tests)',
    })
    await put('devid-ca-rsa/root.pem', devidCaRsa.rootPem, {
      encoding: 'x509-pem',
      meaning: 'DevID root CA (RSA-2048): the trust anchor of the all-RSA evidence set',
    })
    await put('devid-ca-rsa/intermediate.pem', devidCaRsa.intPem, {
      encoding: 'x509-pem',
      meaning: 'DevID intermediate CA (RSA-2048, pathlen 0) that issued tpm-a/devid-rsa.rsa-ca.crt.der',
    })
    const rsaCaLeaf = await issueDevIdCert(devidCaRsa, a.devidRsa.pem, 'tpm-a-devid-rsa', 'TPM-A-DEVID-RSA')
    await put('tpm-a/devid-rsa.rsa-ca.crt.der', rsaCaLeaf.der, {
      encoding: 'x509-der',
      tpm: 'tpm-a',
      meaning: 'DevID leaf for the RSA DevID key issued by the RSA DevID CA (devid-ca-rsa), SPKI = this TPM key',
      expect: 'valid',
    })

    // bent keys on tpm-a: an AK without restricted, a DevID with a SHA-384 scheme
    const ta = a.tools
    const akUnrestricted = await makeKey(ta, a.srkRsa, 'rsa', DEVID_ATTRS, 'sha256', 'ak-unrestricted')
    await putPublic(
      'tpm-a/ak-unrestricted',
      akUnrestricted,
      'tpm-a',
      'BENT: RSA signing key with AK-like use but NO restricted attribute (0x00040072)',
    )
    const certUnrestricted = await putCertify(
      'tpm-a/certify-devid-rsa-by-ak-unrestricted',
      a,
      a.devidRsa,
      akUnrestricted,
      'BENT: TPM2_Certify by an unrestricted signing key',
      'invalid',
    )
    const devid384 = await makeKey(ta, a.srkRsa, 'rsa', DEVID_ATTRS, 'sha384', 'devid-rsa-sha384')
    const devid384Cert = await issueDevIdCert(devidCa, devid384.pem, 'tpm-a-devid-rsa-sha384', 'TPM-A-DEVID-RSA-SHA384')
    await putPublic('tpm-a/devid-rsa-sha384', devid384, 'tpm-a', 'BENT: DevID RSA with RSASSA-SHA384 scheme')
    await put('tpm-a/devid-rsa-sha384.priv', devid384.blobs.priv, {
      encoding: 'tpm2b-private',
      tpm: 'tpm-a',
      meaning: 'private blob of the SHA-384 DevID',
    })
    await put('tpm-a/devid-rsa-sha384.crt.der', devid384Cert.der, {
      encoding: 'x509-der',
      tpm: 'tpm-a',
      meaning: 'DevID leaf for the SHA-384 key (chain valid)',
    })
    const cert384 = await putCertify(
      'tpm-a/certify-devid-rsa-sha384-by-ak-rsa',
      a,
      devid384,
      a.akRsa,
      'TPM2_Certify(SHA-384 DevID by AK RSA)',
    )

    // re-read the good certifies from disk (written above)
    const rd = async (rel: string) => new Uint8Array(await readFile(join(OUT, rel)))
    const certify = async (tpm: string, what: string) => ({
      attest: await rd(`${tpm}/certify-${what}.attest`),
      sig: await rd(`${tpm}/certify-${what}.sig`),
    })
    const intDer = await pemToDer(devidCa.intPem)
    const good = (e: TpmEvidence, devid: TpmEvidence['devidRsa'], c: { attest: Uint8Array; sig: Uint8Array }, ak = e.akRsa) =>
      devidPayload({
        devidCert: devid.cert,
        intermediates: [intDer],
        devidPub: devid.pub,
        ekCert: e.ekRsaCert,
        ekPub: e.ekRsa.pub,
        akPub: ak.pub,
        certify: c,
      })

    await putSet(
      {
        name: 'tpm-a-devid-rsa',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'accept',
        reason: 'RSA DevID + RSA AK + RSA EK, all from tpm-a (SPIRE shape)',
      },
      good(a, a.devidRsa, await certify('tpm-a', 'devid-rsa-by-ak-rsa')),
    )
    await putSet(
      {
        name: 'tpm-a-devid-rsa-rsa-ca',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'accept',
        reason: 'all RSA: RSA DevID CA chain, RSA DevID, RSA AK, RSA EK, all from tpm-a',
      },
      {
        ...good(a, a.devidRsa, await certify('tpm-a', 'devid-rsa-by-ak-rsa')),
        DevIDCert: [b64(rsaCaLeaf.der), b64(await pemToDer(devidCaRsa.intPem))],
      },
    )
    await putSet(
      {
        name: 'tpm-a-devid-p256',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'accept',
        reason: 'P-256 DevID + RSA AK + RSA EK, all from tpm-a (SPIRE shape)',
      },
      good(a, a.devidP256, await certify('tpm-a', 'devid-p256-by-ak-rsa')),
    )
    await putSet(
      {
        name: 'tpm-a-devid-p256-ak-ecc',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'accept',
        reason: 'P-256 DevID certified by a P-256 AK (vouch extension; SPIRE accepts only RSA AKs)',
      },
      good(a, a.devidP256, await certify('tpm-a', 'devid-p256-by-ak-ecc'), a.akEcc),
    )
    await putSet(
      {
        name: 'tpm-b-devid-rsa',
        attestor: 'tpm_devid',
        tpm: 'tpm-b',
        liveTpm: 'tpm-b',
        expect: 'accept',
        reason: 'RSA DevID + RSA AK + RSA EK, all from tpm-b',
      },
      good(b, b.devidRsa, await certify('tpm-b', 'devid-rsa-by-ak-rsa')),
    )
    await putSet(
      {
        name: 'tpm-a-ek',
        attestor: 'tpm_ek',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'accept',
        reason: 'EK-only evidence (EKCert, EKPub, AKPub) of tpm-a',
      },
      { EKCert: b64(a.ekRsaCert), EKPub: b64(tpmt(a.ekRsa.pub)), AKPub: b64(tpmt(a.akRsa.pub)) },
    )

    // bent sets
    await putSet(
      {
        name: 'bent-devid-from-other-tpm',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'reject',
        failsAt: 'certify-name',
        reason:
          "DevIDCert + DevIDPub of tpm-b's DevID, EK/AK/certify from tpm-a (tpm-a's AK certified tpm-a's DevID): the certified Name is not DevIDPub's",
      },
      {
        ...good(a, a.devidRsa, await certify('tpm-a', 'devid-rsa-by-ak-rsa')),
        DevIDCert: [b64(b.devidRsa.cert), b64(intDer)],
        DevIDPub: b64(tpmt(b.devidRsa.pub)),
      },
    )
    await putSet(
      {
        name: 'bent-ek-cert-other-tpm',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'reject',
        failsAt: 'ek-cert-key',
        reason: "tpm-b's (valid, same CA) EK certificate with tpm-a's EKPub: the cert key differs from EKPub",
      },
      { ...good(a, a.devidRsa, await certify('tpm-a', 'devid-rsa-by-ak-rsa')), EKCert: b64(b.ekRsaCert) },
    )
    await putSet(
      {
        name: 'bent-devid-cert-other-key',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'reject',
        failsAt: 'devid-cert-key',
        reason:
          "a valid DevID certificate issued for tpm-b's DevID key, with tpm-a's DevIDPub and certify: leaf SPKI != DevIDPub (SPIRE gap G1)",
      },
      { ...good(a, a.devidRsa, await certify('tpm-a', 'devid-rsa-by-ak-rsa')), DevIDCert: [b64(b.devidRsa.cert), b64(intDer)] },
    )
    await putSet(
      {
        name: 'bent-ak-not-restricted',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'reject',
        failsAt: 'ak-attributes',
        reason: 'AKPub is a sign-only key without restricted; it certified the DevID (SPIRE gap G2: SPIRE accepts it)',
      },
      good(a, a.devidRsa, certUnrestricted, akUnrestricted),
    )
    await putSet(
      {
        name: 'bent-devid-sha384',
        attestor: 'tpm_devid',
        tpm: 'tpm-a',
        liveTpm: 'tpm-a',
        expect: 'reject',
        failsAt: 'devid-scheme',
        reason: 'DevID key with an RSASSA-SHA384 scheme (PoP is defined over SHA-256; spec 3.1 item 5)',
      },
      devidPayload({
        devidCert: devid384Cert.der,
        intermediates: [intDer],
        devidPub: devid384.pub,
        ekCert: a.ekRsaCert,
        ekPub: a.ekRsa.pub,
        akPub: a.akRsa.pub,
        certify: cert384,
      }),
    )
    await putSet(
      {
        name: 'bent-ak-from-other-tpm',
        attestor: 'tpm_devid',
        tpm: 'tpm-b',
        liveTpm: 'tpm-b',
        expect: 'reject',
        failsAt: 'credential-activation',
        reason:
          "tpm-b's DevID/AK/certify (all consistent) with tpm-a's EK cert + EKPub: every static check passes; only credential activation fails (tpm-b cannot activate for tpm-a's EK)",
      },
      { ...good(b, b.devidRsa, await certify('tpm-b', 'devid-rsa-by-ak-rsa')), EKCert: b64(a.ekRsaCert), EKPub: b64(tpmt(a.ekRsa.pub)) },
    )

    // stop both TPMs and keep their state (no persistent handles left: certifyEmpty evicted them)
    for (const e of [a, b]) {
      await e.tpm.stop({ keepDir: true })
      await put(`state/${e.name}/tpm2-00.permall`, await readFile(join(e.tpm.stateDir, 'tpm2-00.permall')), {
        encoding: 'swtpm-state',
        tpm: e.name,
        meaning: `swtpm 0.7.1 state of ${e.name} (seeds, EK cert NV indices): restart it with startFixtureTpm('${e.name}')`,
      })
    }

    const versions = await toolVersions()
    const generatedAt = new Date().toISOString()
    const manifest = {
      description: 'Real TPM 2.0 evidence from swtpm + tpm2-tools, generated by scripts/make-fixtures.ts. See PROVENANCE.md.',
      generatedAt,
      tools: versions,
      pcrSelection: PCRS,
      tpms: {
        'tpm-a': {
          state: 'state/tpm-a/tpm2-00.permall',
          ekCerts: { '0x01c00002': 'tpm-a/ek-rsa.crt.der', '0x01c0000a': 'tpm-a/ek-p256.crt.der', '0x01c00016': 'tpm-a/ek-p384.crt.der' },
        },
        'tpm-b': {
          state: 'state/tpm-b/tpm2-00.permall',
          ekCerts: { '0x01c00002': 'tpm-b/ek-rsa.crt.der', '0x01c00016': 'tpm-b/ek-p384.crt.der' },
        },
      },
      trustAnchors: {
        ek: ['ek-ca/swtpm-localca-rootca-cert.pem'],
        ekIntermediates: ['ek-ca/issuercert.pem'],
        devid: ['devid-ca/root.pem', 'devid-ca-rsa/root.pem'],
        devidIntermediates: ['devid-ca/intermediate.pem', 'devid-ca-rsa/intermediate.pem'],
      },
      sets,
      files: [
        ...files,
        { path: 'manifest.json', encoding: 'json', meaning: 'this file' },
        { path: 'PROVENANCE.md', encoding: 'bytes', meaning: 'how and when these files were made' },
      ].sort((x, y) => x.path.localeCompare(y.path)),
    }
    await writeFile(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    await writeFile(join(OUT, 'PROVENANCE.md'), provenance(generatedAt, versions))
    await rm(FINAL, { recursive: true, force: true })
    await mkdir(dirname(FINAL), { recursive: true })
    await cp(OUT, FINAL, { recursive: true })
    console.log(
      `make-fixtures: wrote ${manifest.files.length} files, ${sets.length} evidence sets to ${relative(process.cwd(), FINAL) || '.'}`,
    )
  } finally {
    for (const t of started) await t.stop().catch(() => undefined)
    await rm(work, { recursive: true, force: true })
  }
}

function provenance(generatedAt: string, versions: Record<string, string>): string {
  return `# test/vectors/swtpm: provenance

Generated ${generatedAt} by \`npx tsx scripts/make-fixtures.ts\` (npm run fixtures) on Debian 12 (bookworm).
Everything here was produced locally by vouch's own script with real software TPMs; no third-party data.
License: same as vouch (Apache-2.0). The keys are TEST-ONLY.

## Tools
${Object.entries(versions)
  .map(([k, v]) => `- ${k}: ${v}`)
  .join('\n')}

## What was done
1. A fresh swtpm_localca CA (RSA-3072 root \`swtpm-localca-rootca\` + intermediate \`swtpm-localca\`) and two DevID
   CAs made with openssl (P-256 root + pathlen-0 intermediate, \`devid-ca\`; RSA-2048 root + intermediate,
   \`devid-ca-rsa\`, which issues tpm-a's RSA DevID a second leaf for the all-RSA set \`tpm-a-devid-rsa-rsa-ca\`).
2. Two independently manufactured TPMs, \`tpm-a\` and \`tpm-b\` (\`swtpm_setup --create-ek-cert\`, per-instance
   config, no /etc edits). tpm-a also gets a P-256 EK cert at NV 0x01c0000a (swtpm 0.7.1 itself only provisions
   P-384 at 0x01c00016) and swtpm's platform cert.
3. On each TPM: EKs from the TCG default templates; SPIRE's SRK-High-RSA/ECC primaries (tpm-devid-protocol.md §7.1;
   \`*/srk-*.template\` is the exact TPMT_PUBLIC sent, \`unique\` is EMPTY as in SPIRE); AKs (attrs 0x00050072) and DevIDs
   (0x00040072) created with TPM2_Create under those SRKs; DevID leaf certs issued by the DevID CA with
   \`openssl x509 -new -force_pubkey\` (802.1AR hardwareModuleName SAN).
4. TPM2_Certify of each DevID by the AK twice: raw over the TCP port with EMPTY qualifyingData (as SPIRE's agent;
   \`certify-*.attest\`) and with tpm2_certify 5.4, which always sends 00ff55aa (\`certify-*.tools.attest\`).
5. PCRs 1 and 7 extended, TPM2_Quote(${PCRS}) with a fixed nonce (\`quote-*.nonce\`) by both AKs, accepted by
   tpm2_checkquote; DevID signatures over a nonce (tpm2_sign), verified with openssl.
6. \`sets/*.json\`: SPIRE \`tpm_devid\` AttestationRequest payloads (Go JSON field names, base64 TPMT_PUBLIC without
   size prefix) — good ones and bent ones, each with its expected verdict in manifest.json (\`sets[]\`).

Commands (in order, paths shortened):
\`\`\`
${[...new Set(commands)].join('\n')}
\`\`\`

## Live TPMs: state/<tpm>/tpm2-00.permall
Credential activation answers cannot be precomputed (the server challenge is fresh). \`state/<tpm>/\` holds the
swtpm state of each fixture TPM after generation (no persistent handles left). \`startFixtureTpm('tpm-a')\` in
test/support/swtpm.ts copies it into a temp dir and serves it: same EK (the committed EK certs match it), same
owner seed, so \`*.priv\` blobs load under the SRK-High templates and the TPM can activate credentials made for
the committed EKPub. Every start is an independent clone of the committed state; PCRs start reset, so the
committed quotes show values the restarted TPM will not have until PCRs 1 and 7 are extended the same way.

## Regenerating
\`npm run fixtures\` rewrites this directory (all keys, certs and states change). test/scripts/make-fixtures.test.ts
reruns the generator in a temp dir and checks the outputs structurally.
`
}

await main()
