// Session commands (Part 3 §11, §23, §12.5): StartAuthSession, PolicySecret, PolicyOR, ActivateCredential.
import { ByteWriter } from '../../bytes/writer.ts'
import { TPM_ALG, TPM_RH } from '../constants.ts'
import { TPM_CC, TPM_SE } from './codes.ts'
import { type AuthCommand, EMPTY, makeCommand, type TpmCommand } from './frame.ts'
import { readTicket, type Ticket } from './structures.ts'

export interface StartAuthSessionArgs {
  readonly tpmKey?: number
  readonly bind?: number
  readonly nonceCaller?: Uint8Array
  readonly sessionType?: number
  readonly authHash?: number
}

/** TPM2_StartAuthSession (Part 3 §11.1): by default an unbound, unsalted policy session, SHA-256, no symmetric (spec 7 step 12a). */
export function startAuthSession(a: StartAuthSessionArgs = {}): TpmCommand<{ handle: number; nonceTPM: Uint8Array }> {
  const params = new ByteWriter()
    .sized(a.nonceCaller ?? new Uint8Array(16))
    .sized(EMPTY) // encryptedSalt
    .u8(a.sessionType ?? TPM_SE.POLICY)
    .u16(TPM_ALG.NULL) // symmetric
    .u16(a.authHash ?? TPM_ALG.SHA256)
    .finish()
  return makeCommand(
    'StartAuthSession',
    TPM_CC.StartAuthSession,
    [a.tpmKey ?? TPM_RH.NULL, a.bind ?? TPM_RH.NULL],
    [],
    params,
    1,
    (h, r) => ({
      handle: h[0]!,
      nonceTPM: r.sized('nonceTPM'),
    }),
  )
}

/** TPM2_PolicySecret (Part 3 §23.4): nonceTPM, cpHashA, policyRef empty, expiration 0 by default. */
export function policySecret(
  authHandle: number,
  auth: AuthCommand,
  policySession: number,
  expiration = 0,
): TpmCommand<{ timeout: Uint8Array; policyTicket: Ticket }> {
  const params = new ByteWriter()
    .sized(EMPTY)
    .sized(EMPTY)
    .sized(EMPTY)
    .u32(expiration >>> 0)
    .finish()
  return makeCommand('PolicySecret', TPM_CC.PolicySecret, [authHandle, policySession], [auth], params, 0, (_h, r) => ({
    timeout: r.sized('timeout'),
    policyTicket: readTicket(r, 'policyTicket'),
  }))
}

/**
 * TPM2_PolicyOR (Part 3 §23.6): the session's policyDigest must be one of `hashList` (2 to 8
 * digests of the session's hash); it becomes H(0...0 || TPM_CC_PolicyOR || hashList...).
 */
export function policyOr(policySession: number, hashList: readonly Uint8Array[]): TpmCommand<void> {
  if (hashList.length < 2 || hashList.length > 8) throw new RangeError(`PolicyOR takes 2 to 8 digests, got ${hashList.length}`)
  const w = new ByteWriter().u32(hashList.length)
  for (const d of hashList) w.sized(d)
  return makeCommand('PolicyOR', TPM_CC.PolicyOR, [policySession], [], w.finish(), 0, () => undefined)
}

/** TPM2_ActivateCredential (Part 3 §12.5): credentialBlob / secret are the TPM2B bodies (no size prefix). */
export function activateCredential(
  activateHandle: number,
  activateAuth: AuthCommand,
  keyHandle: number,
  keyAuth: AuthCommand,
  credentialBlob: Uint8Array,
  secret: Uint8Array,
): TpmCommand<Uint8Array> {
  const params = new ByteWriter().sized(credentialBlob).sized(secret).finish()
  return makeCommand(
    'ActivateCredential',
    TPM_CC.ActivateCredential,
    [activateHandle, keyHandle],
    [activateAuth, keyAuth],
    params,
    0,
    (_h, r) => r.sized('certInfo'),
  )
}
