/**
 * The tpm_devid attestor: SPIRE's three proofs (protocol §1) with the checks SPIRE misses (G1-G5).
 *
 * Static checks (before any challenge), in order:
 *   devid.certificate, devid.chain          DevID leaf chains to devIDCACerts
 *   devid.profile                           DevID leaf profile: not a CA, digitalSignature, EKU (named tolerances)
 *   devid.public, devid.scheme_hash         DevIDPub parses; scheme hash is SHA-256 only
 *   devid.attributes                        sign, fixedTPM, fixedParent, sensitiveDataOrigin; not restricted/decrypt (G3)
 *   devid.key_binding                       DevIDPub key == DevID leaf key (G1)
 *   ak.public, ak.attributes                restricted signing AK, scheme not NULL (G2, G5)
 *   certify                                 AK-signed TPM2_Certify names exactly Name(DevIDPub) (G3, G5)
 *   ek.*                                    EK key == certificate key, profile (named tolerances), trust (ek-trust.ts)
 * Challenge: a 32-byte DevID nonce and a credential for the EK bound to Name(AK).
 * Answer: DevID signature over the nonce (|| binding) with the leaf key; the activation proof,
 * compared in constant time (G4).
 *
 * Freshness: TPM2_Certify is not fresh (tpm2_certify 5.4 always puts 00ff55aa in qualifyingData;
 * SPIRE's agent sends none). The verifier records extraData in the verdict but does not require it
 * empty; freshness comes from the nonce and the activation, as in SPIRE.
 */
import { fromBase64, toBase64, toHex } from '../../bytes/encoding.ts'
import { concatBytes } from '../../bytes/equal.ts'
import { makeCredential } from '../../credential/make-credential.ts'
import { ecdsaDerToP1363 } from '../../crypto/ecdsa-signature.ts'
import type { PublicKey } from '../../crypto/provider.ts'
import { VerifyError } from '../../errors.ts'
import type { Platform } from '../../platform.ts'
import { evaluateDevIdCertificateProfile } from '../../devid/certificate.ts'
import type { TpmDevidAttestorConfig } from './config.ts'
import { parseCertificateCached } from '../../x509/certificate-cache.ts'
import { parsedBytesDigestHex } from '../../x509/fingerprint.ts'
import { serialNumberHex } from '../../x509/path-validate.ts'
import { curveFieldSize, parseSubjectPublicKeyInfo } from '../../x509/spki.ts'
import { verifyChain } from '../../x509/verify.ts'
import type { Selector } from '../../attestor/attributes.ts'
import { tpmDevidAttributes, tpmDevidSelectors } from './attributes.ts'
import type { CheckLog, ToleranceUse } from '../../attestor/checks.ts'
import { ACTIVATION_SECRET_BYTES, checkActivation } from '../../attestor/activation.ts'
import { checkEk } from '../../attestor/ek-trust.ts'
import type { TpmDevidAnswer, TpmDevidEvidence } from './evidence.ts'
import {
  AK_ATTRIBUTES_INVALID,
  DEVID_ATTRIBUTES_INVALID,
  DEVID_CERTIFICATION_FAILED,
  DEVID_CHAIN_FAILED,
  DEVID_KEY_MISMATCH,
  DEVID_SIGNATURE_FAILED,
  devIdUnsupportedHash,
} from '../../messages.ts'
import {
  checkAkKey,
  checkDevIdKey,
  credentialEkOf,
  publicKeysMatch,
  tpmNameOf,
  verifyDevIdCertification,
  type TpmKey,
} from '../../attestor/tpm.ts'
import { parseTpmKeyCached } from '../../attestor/tpm-key-cache.ts'

export const DEVID_NONCE_BYTES = 32

/** What the static checks established; nothing secret. */
export interface TpmDevidFacts {
  readonly attributes: Record<string, string>
  readonly selectors: Selector[]
  readonly leafSpki: Uint8Array
  /** the EK as parsed by the evidence checks, and Name(AK) */
  readonly credential: { readonly ek: TpmKey; readonly akName: Uint8Array }
  readonly certifyExtraData: string
  /** profile tolerances the DevID leaf and the EK certificate needed */
  readonly tolerancesUsed: readonly ToleranceUse[]
}

const CHAIN = { code: 'ERR_DEVID_CHAIN', message: DEVID_CHAIN_FAILED } as const
const CERTIFY = { code: 'ERR_DEVID_CERTIFICATION', message: DEVID_CERTIFICATION_FAILED } as const

export async function checkTpmDevidEvidence(
  log: CheckLog,
  ev: TpmDevidEvidence,
  config: TpmDevidAttestorConfig,
  platform: Platform,
): Promise<TpmDevidFacts> {
  const p = 'tpm_devid'
  const { leaf, agentIntermediates } = log.runSync(
    `${p}.devid.certificate`,
    () => ({
      leaf: parseCertificateCached(ev.devIdCerts[0]!, {}, platform),
      agentIntermediates: ev.devIdCerts.slice(1).map((d) => parseCertificateCached(d, {}, platform)),
    }),
    CHAIN,
    (r) => `leaf and ${r.agentIntermediates.length} intermediate(s) parsed`,
  )
  log.identify({
    devIdFingerprint: await parsedBytesDigestHex('SHA-256', leaf.raw, platform),
    devIdSerial: serialNumberHex(leaf.serialNumber).slice(0, 64),
  })
  const chain = await log.run(
    `${p}.devid.chain`,
    () =>
      verifyChain(
        {
          leaf,
          intermediates: [...agentIntermediates, ...config.devIDIntermediates],
          anchors: config.devIDAnchors,
          at: platform.now(),
        },
        { platform },
      ),
    CHAIN,
    (c) => `path of ${c.path.length} certificate(s) to a devIDCACerts anchor`,
  )
  const devIdProfile = log.runSync(
    `${p}.devid.profile`,
    () => evaluateDevIdCertificateProfile(leaf, { tolerate: config.tolerate ?? [] }),
    { code: 'ERR_DEVID_PROFILE' },
    (r) =>
      `DevID leaf profile: not a CA, digitalSignature, extKeyUsage${r.tolerated.length > 0 ? `; tolerated: ${r.tolerated.join(', ')}` : ''}`,
  )

  const devId = log.runSync(
    `${p}.devid.public`,
    () => parseTpmKeyCached(ev.devIdPub, 'DevID public', platform),
    undefined,
    (k) => k.summary,
  )
  const hash = devId.schemeHash
  if (hash !== undefined && hash !== 'SHA256') {
    throw log.fail(`${p}.devid.scheme_hash`, 'ERR_DEVID_UNSUPPORTED_HASH', devIdUnsupportedHash(hash), `DevID scheme hash is ${hash}`)
  }
  log.pass(`${p}.devid.scheme_hash`, hash ?? 'scheme NULL (refused by the attribute check)')
  log.runSync(
    `${p}.devid.attributes`,
    () => checkDevIdKey(devId),
    { code: 'ERR_TPM2_ATTRIBUTES', message: DEVID_ATTRIBUTES_INVALID },
    () => 'sign, fixedTPM, fixedParent, sensitiveDataOrigin; not restricted, not decrypt',
  )
  if (!publicKeysMatch(devId.publicKey, leaf.publicKey)) {
    throw log.fail(`${p}.devid.key_binding`, 'ERR_DEVID_KEY_MISMATCH', DEVID_KEY_MISMATCH, 'the DevID leaf key is not the DevIDPub key')
  }
  log.pass(`${p}.devid.key_binding`, `DevID leaf key equals DevIDPub (${devId.publicKey.kty})`)

  const ak = log.runSync(
    `${p}.ak.public`,
    () => parseTpmKeyCached(ev.akPub, 'AK public', platform),
    undefined,
    (k) => k.summary,
  )
  log.runSync(
    `${p}.ak.attributes`,
    () => checkAkKey(ak),
    { code: 'ERR_TPM2_ATTRIBUTES', message: AK_ATTRIBUTES_INVALID },
    () => 'restricted, sign, fixedTPM, fixedParent, sensitiveDataOrigin; not decrypt; scheme set',
  )
  const certify = await log.run(
    `${p}.certify`,
    () => verifyDevIdCertification(ak, devId, ev.certifiedDevId, ev.certificationSignature, platform),
    CERTIFY,
    (r) =>
      `signed by the AK (${r.scheme}); certified Name is Name(DevIDPub); extraData ${r.extraData.length === 0 ? 'empty' : toHex(r.extraData)}`,
  )

  const ek = await checkEk(log, p, ev, config, platform)
  const akName = await tpmNameOf(ak, platform)
  const attributes = await tpmDevidAttributes(leaf, ek, platform)
  const selectors = await tpmDevidSelectors(chain.path, platform)
  return {
    attributes,
    selectors,
    leafSpki: leaf.spki,
    credential: { ek: ek.key, akName },
    certifyExtraData: toHex(certify.extraData),
    tolerancesUsed: [...devIdProfile.tolerated.map((tolerance) => ({ check: `${p}.devid.profile`, tolerance })), ...ek.tolerated],
  }
}

/** Session state for one tpm_devid challenge (JSON-safe; secrets base64). */
export interface TpmDevidSession {
  readonly [k: string]: string
  readonly nonce: string
  readonly secret: string
  readonly leafSpki: string
}

export async function makeTpmDevidChallenge(
  facts: TpmDevidFacts,
  platform: Platform,
): Promise<{ challenge: Record<string, unknown>; session: TpmDevidSession }> {
  const nonce = platform.crypto.randomBytes(DEVID_NONCE_BYTES)
  const secret = platform.crypto.randomBytes(ACTIVATION_SECRET_BYTES)
  const made = await makeCredential(
    { ekPublic: credentialEkOf(facts.credential.ek), akName: facts.credential.akName, secret },
    { platform },
  )
  const b64 = platform.encodeBase64 ?? toBase64
  const nonceB64 = b64(nonce)
  return {
    challenge: { DevID: nonceB64, CredActivation: { Credential: b64(made.idObject), Secret: b64(made.encSecret) } },
    session: { nonce: nonceB64, secret: b64(secret), leafSpki: b64(facts.leafSpki) },
  }
}

async function verifyDevIdSignature(key: PublicKey, message: Uint8Array, signature: Uint8Array, platform: Platform): Promise<boolean> {
  if (key.kty === 'RSA') return platform.crypto.verify({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, key, message, signature)
  let p1363: Uint8Array
  try {
    p1363 = ecdsaDerToP1363(signature, curveFieldSize(key.crv))
  } catch (e) {
    if (e instanceof VerifyError) return false
    throw e
  }
  return platform.crypto.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, message, p1363)
}

export async function checkTpmDevidAnswer(
  log: CheckLog,
  session: TpmDevidSession,
  answer: TpmDevidAnswer,
  binding: Uint8Array | undefined,
  platform: Platform,
): Promise<void> {
  const key = parseSubjectPublicKeyInfo(fromBase64(session.leafSpki))
  const message = binding ? concatBytes(fromBase64(session.nonce), binding) : fromBase64(session.nonce)
  if (!(await verifyDevIdSignature(key, message, answer.devIdSignature, platform))) {
    throw log.fail(
      'tpm_devid.devid.proof_of_possession',
      'ERR_DEVID_SIGNATURE',
      DEVID_SIGNATURE_FAILED,
      `the signature does not verify with the DevID leaf key (${key.kty === 'RSA' ? 'RSASSA-PKCS1-v1_5' : 'ECDSA'} SHA-256)`,
    )
  }
  log.pass(
    'tpm_devid.devid.proof_of_possession',
    `signature over the nonce${binding ? ' and key binding' : ''} verifies with the DevID leaf key`,
  )
  await checkActivation(log, 'tpm_devid.credential_activation', session.secret, answer.credActivation, binding, platform)
}
