/**
 * The EK-only attestor `tpm_ek` (protocol §10, SPIRE's community `tpm` plugin, with its gap
 * closed: the EK certificate key must equal the EK public key). No DevID: the AK proves it is
 * resident in the TPM that holds the trusted EK through credential activation; its attributes are
 * checked (restricted signing key). Attributes: tpm_ek.public_hash, and with an EK certificate its
 * serial number and TPM identity.
 */
import { toBase64 } from '../../bytes/encoding.ts'
import { makeCredential } from '../../credential/make-credential.ts'
import type { Platform } from '../../platform.ts'
import type { TpmEkAttestorConfig } from './config.ts'
import { ekAttributes, type Selector } from '../../attestor/attributes.ts'
import { tpmEkSelectors } from './attributes.ts'
import type { CheckLog, ToleranceUse } from '../../attestor/checks.ts'
import { ACTIVATION_SECRET_BYTES, checkActivation } from '../../attestor/activation.ts'
import { checkEk } from '../../attestor/ek-trust.ts'
import type { TpmEkAnswer, TpmEkEvidence } from './evidence.ts'
import { AK_ATTRIBUTES_INVALID } from '../../messages.ts'
import { checkAkKey, credentialEkOf, tpmNameOf, type TpmKey } from '../../attestor/tpm.ts'
import { parseTpmKeyCached } from '../../attestor/tpm-key-cache.ts'

export interface TpmEkFacts {
  readonly attributes: Record<string, string>
  readonly selectors: Selector[]
  /** the EK as parsed by the evidence checks, and Name(AK) */
  readonly credential: { readonly ek: TpmKey; readonly akName: Uint8Array }
  /** profile tolerances the EK certificate needed */
  readonly tolerancesUsed: readonly ToleranceUse[]
}

export async function checkTpmEkEvidence(
  log: CheckLog,
  ev: TpmEkEvidence,
  config: TpmEkAttestorConfig,
  platform: Platform,
): Promise<TpmEkFacts> {
  const p = 'tpm_ek'
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
  const ek = await checkEk(log, p, ev, config, platform)
  return {
    attributes: ekAttributes('tpm_ek', ek),
    selectors: tpmEkSelectors(ek.publicHash),
    credential: { ek: ek.key, akName: await tpmNameOf(ak, platform) },
    tolerancesUsed: ek.tolerated,
  }
}

export interface TpmEkSession {
  readonly [k: string]: string
  readonly secret: string
}

export async function makeTpmEkChallenge(
  facts: TpmEkFacts,
  platform: Platform,
): Promise<{ challenge: Record<string, unknown>; session: TpmEkSession }> {
  const secret = platform.crypto.randomBytes(ACTIVATION_SECRET_BYTES)
  const made = await makeCredential(
    { ekPublic: credentialEkOf(facts.credential.ek), akName: facts.credential.akName, secret },
    { platform },
  )
  const b64 = platform.encodeBase64 ?? toBase64
  return {
    challenge: { CredActivation: { Credential: b64(made.idObject), Secret: b64(made.encSecret) } },
    session: { secret: b64(secret) },
  }
}

export async function checkTpmEkAnswer(
  log: CheckLog,
  session: TpmEkSession,
  answer: TpmEkAnswer,
  binding: Uint8Array | undefined,
  platform: Platform,
): Promise<void> {
  await checkActivation(log, 'tpm_ek.credential_activation', session.secret, answer.credActivation, binding, platform)
}
