/**
 * Certificates for the profile tests, made with core/x509/make-certificate.ts for the keys of the
 * committed swtpm fixtures: DevID leaves for tpm-a's DevID keys issued by the committed DevID
 * intermediate (devid-ca/intermediate.key), and EK certificates for tpm-a's EKs issued by a test
 * EK CA made here. Only the extensions under test vary; everything else is as a real issuer makes it.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { OID } from '../../../core/der/oid.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { keyIdentifier, makeCertificate, type CertificateTemplate } from '../../../core/x509/make-certificate.ts'
import { toPem } from '../../../core/bytes/pem.ts'
import { pemToDer } from './fixtures.ts'
import { vectorText } from './live-agent.ts'

const DAY = 86_400_000

export type Overrides = Partial<Omit<CertificateTemplate, 'publicKey' | 'issuer' | 'notBefore' | 'notAfter'>>

function spkiOf(pemPath: string): Uint8Array {
  return new Uint8Array(createPublicKey(vectorText(pemPath)).export({ type: 'spki', format: 'der' }))
}

async function importEcSigner(pem: string): Promise<CryptoKey> {
  const pkcs8 = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' })
  return crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
}

/** A DevID leaf for the public key in `pemPath` (e.g. `tpm-a/devid-rsa.pem`), issued by the committed DevID intermediate. */
export async function issueDevIdLeaf(pemPath: string, overrides: Overrides = {}): Promise<Uint8Array> {
  const intermediate = parseCertificate(pemToDer(vectorText('devid-ca/intermediate.pem')))
  const key = await importEcSigner(vectorText('devid-ca/intermediate.key'))
  const now = Date.now()
  return makeCertificate(
    {
      subject: [
        { type: 'O', value: 'vouch test' },
        { type: 'CN', value: 'profile-test-devid' },
      ],
      keyUsage: ['digitalSignature'],
      basicConstraints: { cA: false },
      authorityKeyIdentifier: intermediate.subjectKeyIdentifier!,
      ...overrides,
      issuer: intermediate.subjectRaw,
      notBefore: now - DAY,
      notAfter: now + 365 * DAY,
      publicKey: spkiOf(pemPath),
    },
    key,
  )
}

/** The TCG TPM identity as a SAN directoryName (tpm-a is swtpm: IBM's id, swtpm model and version). */
export const TPM_IDENTITY_SAN = {
  directoryNames: [
    [
      { type: OID.tpmManufacturer, value: 'id:00001014' },
      { type: OID.tpmModel, value: 'swtpm' },
      { type: OID.tpmVersion, value: 'id:20191023' },
    ],
  ],
} as const

export const EK_EKU = [OID.ekCertificate]

/** What a TCG-profile RSA EK certificate carries; a test removes or changes one field. */
export const TCG_RSA_EK: Overrides = {
  subject: [],
  basicConstraints: { cA: false },
  keyUsage: ['keyEncipherment'],
  extKeyUsage: EK_EKU,
  subjectAltName: TPM_IDENTITY_SAN,
  subjectAltNameCritical: true,
}

export interface TestEkCa {
  /** the CA certificate as PEM, for endorsementCACerts */
  readonly pem: string
  /** an EK certificate for the public key in `pemPath` (e.g. `tpm-a/ek-rsa.pem`) */
  issue(pemPath: string, template: Overrides): Promise<Uint8Array>
}

/** A self-signed P-256 EK CA. */
export async function makeTestEkCa(name = 'vouch profile-test EK CA'): Promise<TestEkCa> {
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey))
  const now = Date.now()
  const subject = [{ type: 'CN', value: name }]
  const der = await makeCertificate(
    {
      subject,
      notBefore: now - DAY,
      notAfter: now + 3650 * DAY,
      publicKey: spki,
      basicConstraints: { cA: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    kp.privateKey,
  )
  const ca = parseCertificate(der)
  const aki = await keyIdentifier(spki)
  return {
    pem: toPem('CERTIFICATE', der),
    issue: (pemPath, template) =>
      makeCertificate(
        {
          subject: [],
          authorityKeyIdentifier: aki,
          ...template,
          issuer: ca.subjectRaw,
          notBefore: now - DAY,
          notAfter: now + 3650 * DAY,
          publicKey: spkiOf(pemPath),
        },
        kp.privateKey,
      ),
  }
}

export const b64 = (der: Uint8Array) => Buffer.from(der).toString('base64')
