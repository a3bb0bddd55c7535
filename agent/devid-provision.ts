// `vouch devid provision`: create a DevID key in the TPM under SPIRE's SRK-High (agent/tpm/provision.ts),
// then issue its certificate from a CA (makeCertificate, signed with the CA key) or write a PKCS#10
// CSR signed by the TPM-resident DevID key (RFC 2986).
import { createPrivateKey } from 'node:crypto'
import {
  DER_NULL,
  encodeBitString,
  encodeExplicit,
  encodeName,
  encodeOidTlv,
  encodeSequence,
  encodeSmallInteger,
  type NameInput,
} from '../core/x509/der-encode.ts'
import { encodeSubjectPublicKeyInfo } from '../core/x509/spki.ts'
import { keyIdentifier, makeCertificate } from '../core/x509/make-certificate.ts'
import { parseCertificate } from '../core/x509/certificate.ts'
import { OID } from '../core/der/oid.ts'
import { TPM_ALG } from '../core/tpm2/constants.ts'
import { publicKeyFromTpmtPublic } from '../core/tpm2/public-key.ts'
import * as cmd from '../core/tpm2/command/index.ts'
import { TPM_RH } from '../core/tpm2/constants.ts'
import type { TPMT_PUBLIC } from '../core/tpm2/public.ts'
import { ecdsaDer } from './tpm/session.ts'
import type { TpmClient } from './tpm/client.ts'

/** The SubjectPublicKeyInfo DER of a TPM key. */
export function spkiOfTpmKey(pub: TPMT_PUBLIC): Uint8Array {
  return encodeSubjectPublicKeyInfo(publicKeyFromTpmtPublic(pub))
}

/** A PKCS#10 CSR for the DevID key, signed by the TPM (load under SRK-High, Sign, flush). */
export async function makeDevIdCsr(
  client: TpmClient,
  blobs: { pub: Uint8Array; priv: Uint8Array; public: TPMT_PUBLIC },
  subject: NameInput,
  password = '',
  ownerPassword = '',
): Promise<Uint8Array> {
  const info = encodeSequence(encodeSmallInteger(0), encodeName(subject), spkiOfTpmKey(blobs.public), new Uint8Array([0xa0, 0x00]))
  const isRsa = blobs.public.type === TPM_ALG.RSA
  const algId = isRsa
    ? encodeSequence(encodeOidTlv(OID.sha256WithRSAEncryption), DER_NULL)
    : encodeSequence(encodeOidTlv(OID.ecdsaWithSHA256))
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', info))
  const srk = await client.run(
    cmd.createPrimary(TPM_RH.OWNER, cmd.passwordAuth(ownerPassword), { template: isRsa ? cmd.srkTemplateRsa() : cmd.srkTemplateEcc() }),
  )
  let keyHandle: number
  try {
    keyHandle = (await client.run(cmd.load(srk.handle, cmd.passwordAuth(''), blobs.priv, blobs.pub))).handle
  } finally {
    await client.flushQuiet(srk.handle)
  }
  const sig = await client.using(keyHandle, (h) => client.run(cmd.sign(h, cmd.passwordAuth(password), digest)))
  const sigBytes = sig.sigAlg === TPM_ALG.ECDSA ? ecdsaDer(sig.r, sig.s) : sig.sig
  return encodeSequence(info, algId, encodeBitString(sigBytes))
}

/** Issue the DevID certificate from a CA (PEM cert + PKCS#8/SEC1/PKCS#1 PEM key). */
export async function issueDevIdCertificate(
  pub: TPMT_PUBLIC,
  caCertDer: Uint8Array,
  caKeyPem: string,
  subject: NameInput,
  days: number,
  now = Date.now(),
): Promise<Uint8Array> {
  const ko = createPrivateKey(caKeyPem)
  const pkcs8 = ko.export({ format: 'der', type: 'pkcs8' })
  let alg: RsaHashedImportParams | EcKeyImportParams
  if (ko.asymmetricKeyType === 'rsa') alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  else if (ko.asymmetricKeyType === 'ec') {
    const curve = ko.asymmetricKeyDetails?.namedCurve
    const map: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }
    if (!curve || !map[curve]) throw new Error(`CA key curve ${curve} is not P-256, P-384 or P-521`)
    alg = { name: 'ECDSA', namedCurve: map[curve]! }
  } else throw new Error(`CA key type ${ko.asymmetricKeyType} is not RSA or EC`)
  const key = await crypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign'])
  const ca = parseCertificate(caCertDer)
  return makeCertificate(
    {
      subject,
      issuer: ca.subjectRaw,
      notBefore: now - 60_000,
      notAfter: now + days * 86_400_000,
      publicKey: spkiOfTpmKey(pub),
      basicConstraints: { cA: false },
      keyUsage: ['digitalSignature'],
      subjectKeyIdentifier: true,
      authorityKeyIdentifier: ca.subjectKeyIdentifier ?? (await keyIdentifier(ca.spki)),
    },
    key,
  )
}
