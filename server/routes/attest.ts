/**
 * POST /v1/attest                      evidence -> session ID + challenges (docs/protocol.md)
 * POST /v1/attest/{sessionId}/answer   answers + the agent's new public key (SPKI + keyProof, or PKCS#10 CSR) -> verdict + X.509-SVID
 *
 * The new key is bound to the attestation: binding = SHA-256(SPKI DER) is covered by the DevID
 * signature and the activation HMAC (core/attestation), so a swapped key fails the proofs. The
 * agent also proves it holds the key (core/attestation/svid-key.ts): a `keyProof` signature over
 * the session binding, or the CSR's self-signature; weak keys are refused before anything else.
 * Order: cheap parse and key checks, then the session lookup, then any signature.
 * A banned agent (registry) is refused after its proofs pass, before any SVID is issued; an
 * attested identity over its rate limit too (429).
 *
 * Logs: every line carries `client`; request strings are bounded (logging.ts); providedMethods is
 * logged once per request. Metrics labels come from fixed sets (metrics.ts).
 */
import { Hono } from 'hono'
import { toPem } from '../../core/bytes/pem.ts'
import { fromBase64 } from '../../core/bytes/encoding.ts'
import { BUILTIN_ATTESTORS } from '../../core/attestors/registry.ts'
import { AttestationError, isVerifyError } from '../../core/errors.ts'
import {
  AGENT_BANNED,
  ANSWERS_NOT_OBJECT,
  CSR_NOT_BASE64_DER,
  EVIDENCE_NOT_OBJECT,
  REQUEST_BODY_NOT_JSON,
  REQUEST_BODY_NOT_OBJECT,
} from '../../core/messages.ts'
import type { AttestationVerifier } from '../../core/attestation/verifier.ts'
import type { Platform } from '../../core/platform.ts'
import type { PublicKey } from '../../core/crypto/provider.ts'
import { checkSvidKey, verifySvidKeyProof } from '../../core/attestation/svid-key.ts'
import type { Verdict } from '../../core/attestation/verifier.ts'
import type { UseOnceClaim } from '../../core/session/use-once.ts'
import { parseSubjectPublicKeyInfo } from '../../core/x509/spki.ts'
import type { IssuedSvid, ServerCa } from '../ca/authority.ts'
import { parseCertificationRequest, verifyCertificationRequestSignature } from '../ca/csr.ts'
import { type ClientAddressOf, clientAddress } from '../client-address.ts'
import { RateLimitError, type TokenBucketLimiter } from '../rate-limit.ts'
import { failureFields, LOG_MESSAGES, type Logger } from '../logging.ts'
import type { Metrics } from '../metrics.ts'
import { RequestError } from '../middleware/errors.ts'
import type { AnswerLedger } from '../registry/answer-ledger.ts'
import type { AttestationRecord } from '../registry/registry.ts'
import type { AgentStore } from '../registry/store.ts'

export interface AttestRouteOptions {
  readonly verifier: AttestationVerifier
  readonly ca: ServerCa
  readonly registry: AgentStore
  /**
   * sealed sessions: the answer is settled in one step after its checks (AnswerOptions.settle), the
   * use-once claim and the agent's record together; without it the verifier claims first and the
   * record is committed after the verdict
   */
  readonly answers?: AnswerLedger
  readonly platform: Platform
  readonly logger: Logger
  readonly metrics: Metrics
  readonly svidTtlMs: number
  /** the client address of a request, logged with every line */
  readonly clientAddress?: ClientAddressOf
  /** rate limit per attested identity (EK hash, DevID fingerprint), checked before an SVID is issued */
  readonly perIdentity?: TokenBucketLimiter
  /**
   * also limit starts per identity, before MakeCredential (default true): for a verifier whose
   * starts keep state (the in-memory session store); see AppOptions.startsKeepState
   */
  readonly identityLimitAtStart?: boolean
}

/**
 * The identity a verdict attests, for its rate limit: the identity attribute of the first attestor
 * in registry order that has one (the DevID fingerprint before the EK hash), else the SPIFFE ID.
 */
export function attestedIdentity(v: Pick<Verdict, 'attributes' | 'spiffeIdPath'>): string {
  for (const attestor of BUILTIN_ATTESTORS.attestors) {
    const id = v.attributes[attestor.identityAttribute]
    if (id !== undefined) return id
  }
  return `spiffe-path:${v.spiffeIdPath}`
}

/** The SVID key of an answer, parsed and checked; `prove` runs its signature check once the session is found. */
interface SvidKey {
  readonly spki: Uint8Array
  readonly key: PublicKey
  readonly prove: (binding: Uint8Array) => Promise<string>
}

function keyDetail(key: PublicKey): string {
  return key.kty === 'RSA' ? `RSA ${key.n.length * 8}` : `EC ${key.crv}`
}

async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const ct = req.headers.get('content-type') ?? ''
  if (ct !== '' && !/^application\/json\b/i.test(ct))
    throw new RequestError('ERR_REQUEST_MEDIA_TYPE', `content-type: expected application/json, found ${ct.slice(0, 60)}`)
  const text = await req.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new AttestationError('ERR_EVIDENCE_MALFORMED', REQUEST_BODY_NOT_JSON)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AttestationError('ERR_EVIDENCE_MALFORMED', REQUEST_BODY_NOT_OBJECT)
  return body as Record<string, unknown>
}

interface Pending {
  readonly types: readonly string[]
  readonly startedAt: number
  readonly expiresAt: number
}

/** The SVID key of an answer body (publicKey + keyProof, or csr), or undefined when it asks for none. */
async function readSvidKey(body: Record<string, unknown>, sessionId: string, o: AttestRouteOptions): Promise<SvidKey | undefined> {
  if (body.publicKey !== undefined && body.csr !== undefined)
    throw new AttestationError('ERR_EVIDENCE_MALFORMED', 'give publicKey or csr, not both')
  if (body.keyProof !== undefined && body.publicKey === undefined)
    throw new AttestationError('ERR_EVIDENCE_MALFORMED', 'keyProof: only with publicKey (a csr carries its own proof)')
  if (body.publicKey !== undefined) {
    if (typeof body.publicKey !== 'string')
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', 'publicKey: expected base64 SubjectPublicKeyInfo DER')
    const spki = fromBase64(body.publicKey, 'publicKey')
    let key: PublicKey
    try {
      key = parseSubjectPublicKeyInfo(spki)
    } catch (e) {
      if (!isVerifyError(e)) throw e
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', `publicKey: not a supported SubjectPublicKeyInfo (${e.message})`)
    }
    if (!(await o.ca.isUsableKey(spki, key)))
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', 'publicKey: the key does not import (an EC point off its curve?)')
    checkSvidKey(key)
    if (body.keyProof === undefined)
      throw new AttestationError(
        'ERR_SVID_KEY_UNPROVEN',
        'keyProof: missing; sign the session binding with the new key (docs/protocol.md "SVID key"), or send a csr',
      )
    if (typeof body.keyProof !== 'string') throw new AttestationError('ERR_EVIDENCE_MALFORMED', 'keyProof: expected a base64 signature')
    const signature = fromBase64(body.keyProof, 'keyProof')
    return {
      spki,
      key,
      prove: async (binding) => {
        await verifySvidKeyProof(key, sessionId, binding, signature, o.platform)
        return `keyProof over the session binding verifies with the ${keyDetail(key)} key`
      },
    }
  }
  if (body.csr !== undefined) {
    if (typeof body.csr !== 'string') throw new AttestationError('ERR_EVIDENCE_MALFORMED', CSR_NOT_BASE64_DER)
    const der = fromBase64(body.csr, 'csr')
    let csr: ReturnType<typeof parseCertificationRequest>
    try {
      csr = parseCertificationRequest(der)
    } catch (e) {
      if (!isVerifyError(e)) throw e
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', `csr: not a valid certification request (${e.message})`)
    }
    checkSvidKey(csr.publicKey)
    return {
      spki: csr.spki,
      key: csr.publicKey,
      prove: async () => {
        try {
          await verifyCertificationRequestSignature(csr, o.platform)
        } catch (e) {
          if (!isVerifyError(e)) throw e
          throw new AttestationError('ERR_SVID_KEY_UNPROVEN', `csr: the self-signature does not prove the key (${e.message})`)
        }
        return `csr self-signature verifies with the ${keyDetail(csr.publicKey)} key`
      },
    }
  }
  return undefined
}

/** most started sessions tracked for metrics at once */
export const MAX_PENDING = 10_000
/**
 * The metrics map's key for a session ID: its last 32 characters (a memory-mode ID whole; of a
 * sealed session, its GCM tag and the end of its ciphertext), so an entry costs the same whatever
 * the token's length.
 */
const pendingKey = (sessionId: string) => sessionId.slice(-32)

/** how long after its session's expiry a start's metrics entry is kept */
const PENDING_GRACE_MS = 60_000

/**
 * Removes the metrics entries of sessions that expired more than PENDING_GRACE_MS ago. Entries
 * are added as starts finish, so in about the order their sessions expire: the walk stops at the
 * first entry still kept, and a start costs the entries it removes rather than a walk of the whole
 * map (a flood of starts that are never answered fills it to MAX_PENDING). An entry that finished
 * a few milliseconds out of order goes at a later start. An entry started more than
 * PENDING_GRACE_MS after `now` goes too: the wall clock has stepped back since, and it would hold
 * up the walk for as long as the step (the entries behind it filling the map to MAX_PENDING).
 */
export function purgePending(pending: Map<string, { readonly startedAt: number; readonly expiresAt: number }>, now: number): void {
  for (const [id, p] of pending) {
    if (p.expiresAt + PENDING_GRACE_MS > now && p.startedAt - PENDING_GRACE_MS <= now) return
    pending.delete(id)
  }
}

export function attestRoutes(o: AttestRouteOptions): Hono {
  const app = new Hono()
  const clientOf: ClientAddressOf = o.clientAddress ?? ((c) => clientAddress(c) ?? 'unknown')
  // attestor types and start time per session, for metrics; purged with the sessions, and bounded
  // (a flood of starts that are never answered must not grow it: past the cap a start is not
  // tracked and its answer is counted under attestor type "unknown")
  const pending = new Map<string, Pending>()
  const purge = (): void => purgePending(pending, o.platform.now())

  app.post('/v1/attest', async (c) => {
    const client = clientOf(c)
    const body = await jsonBody(c.req.raw)
    const pm = body.providedMethods
    if (!Array.isArray(pm) || !pm.every((m) => typeof m === 'string'))
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', 'providedMethods: expected an array of attestor type names')
    if (typeof body.evidence !== 'object' || body.evidence === null || Array.isArray(body.evidence))
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', EVIDENCE_NOT_OBJECT)
    const providedMethods = pm as string[]
    o.logger.info(LOG_MESSAGES.connected, { client, route: 'attest' })
    // the agent's list, bounded by the logger, logged here only
    o.logger.info(LOG_MESSAGES.loginStarted, { client, providedMethods, providedMethodsCount: providedMethods.length })
    purge()
    try {
      // replayed evidence is refused per identity before MakeCredential and before any session is kept
      // (only where a start keeps a session: with sealed sessions the per-address limit bounds starts)
      const perIdentity = o.identityLimitAtStart === false ? undefined : o.perIdentity
      const admit = perIdentity
        ? (agent: { readonly devIdFingerprint?: string; readonly ekHash?: string }) => {
            const identity = agent.devIdFingerprint ?? agent.ekHash
            if (identity === undefined) return
            const r = perIdentity.take(`start:${identity}`)
            if (!r.ok) {
              o.metrics.countRateLimited('identity')
              if (r.first)
                o.logger.warn(LOG_MESSAGES.rateLimited, {
                  client,
                  scope: 'identity',
                  phase: 'start',
                  retryAfterSeconds: r.retryAfterSeconds,
                })
              throw new RateLimitError('attested identity', r.retryAfterSeconds)
            }
          }
        : undefined
      const started = await o.verifier.start(
        { providedMethods, evidence: body.evidence as Record<string, unknown> },
        admit ? { admit } : {},
      )
      if (pending.size < MAX_PENDING)
        pending.set(pendingKey(started.sessionId), {
          types: Object.keys(started.challenges),
          startedAt: o.platform.now(),
          expiresAt: started.expiresAt,
        })
      return c.json({ sessionId: started.sessionId, expiresAt: new Date(started.expiresAt).toISOString(), challenges: started.challenges })
    } catch (e) {
      if (isVerifyError(e)) {
        o.metrics.countProofs(providedMethods, 'failure')
        o.logger.warn(LOG_MESSAGES.attestationFailed, { client, phase: 'evidence', ...failureFields(e) })
      }
      throw e
    }
  })

  app.post('/v1/attest/:sessionId/answer', async (c) => {
    const client = clientOf(c)
    const sessionId = c.req.param('sessionId')
    const body = await jsonBody(c.req.raw)
    if (typeof body.answers !== 'object' || body.answers === null || Array.isArray(body.answers))
      throw new AttestationError('ERR_EVIDENCE_MALFORMED', ANSWERS_NOT_OBJECT)
    const svidKey = await readSvidKey(body, sessionId, o)
    const spki = svidKey?.spki
    const p = pending.get(pendingKey(sessionId))
    pending.delete(pendingKey(sessionId))
    const types = p?.types ?? ['unknown']
    try {
      const binding = spki ? await o.platform.crypto.digest('SHA-256', spki) : undefined
      /** the rate limit per attested identity: refused before any SVID is made */
      const overLimit = (verdict: Verdict): RateLimitError | undefined => {
        if (!o.perIdentity) return undefined
        const r = o.perIdentity.take(attestedIdentity(verdict))
        if (r.ok) return undefined
        o.metrics.countRateLimited('identity')
        if (r.first)
          o.logger.warn(LOG_MESSAGES.rateLimited, {
            client,
            scope: 'identity',
            spiffeId: verdict.spiffeId!,
            retryAfterSeconds: r.retryAfterSeconds,
          })
        return new RateLimitError('attested identity', r.retryAfterSeconds)
      }
      // the SVID is made first and released only if the commit finds the agent not banned (the
      // ban check and the record share one transaction)
      let svid: IssuedSvid | undefined
      let recorded: 'recorded' | 'banned' | undefined
      // true once the ledger has settled a passing answer: its record is written, never again below
      let settledVerdict = false
      let now = 0
      /** makes the SVID and the agent's record to commit with it */
      const issue = async (verdict: Verdict): Promise<AttestationRecord> => {
        now = o.platform.now()
        svid = spki ? await o.ca.issueSvid(spki, verdict.spiffeId!, o.svidTtlMs) : undefined
        return {
          spiffeId: verdict.spiffeId!,
          attestorType: verdict.attestorTypes.join('+'),
          attributes: verdict.attributes,
          selectors: verdict.selectors.map((s) => `${s.type}:${s.value}`),
          at: now,
          ...(svid ? { svidSerial: svid.serialHex, svidExpiresAt: svid.notAfter } : {}),
        }
      }
      const ledger = o.answers
      // sealed sessions with a ledger: the checks first, then the use-once claim and the record in
      // one commit; a refused identity still burns the session
      const settle = ledger
        ? async (claim: UseOnceClaim, verdict: Verdict | undefined): Promise<boolean> => {
            const limited = verdict && overLimit(verdict)
            if (!verdict || limited) {
              if (!(await ledger.settle({ claim })).claimed) return false
              if (limited) throw limited
              return true
            }
            const settled = await ledger.settle({ claim, record: await issue(verdict) })
            if (settled.claimed && settled.recorded === undefined)
              throw new Error('answer ledger: a won claim with a record must say whether it was recorded') // fails closed: no SVID
            settledVerdict = settled.claimed
            recorded = settled.recorded
            return settled.claimed
          }
        : undefined
      const verdict = await o.verifier.answer(sessionId, body.answers as Record<string, unknown>, {
        ...(binding && svidKey ? { binding, proveKey: () => svidKey.prove(binding) } : {}),
        ...(settle ? { settle } : {}),
      })
      const spiffeId = verdict.spiffeId!
      if (!settledVerdict) {
        // claimed before the checks (no ledger), or a session store: the record is a commit of its own
        const limited = overLimit(verdict)
        if (limited) throw limited
        recorded = await o.registry.commitAttestation(await issue(verdict))
      }
      if (recorded === 'banned') throw new AttestationError('ERR_AGENT_BANNED', AGENT_BANNED, { detail: { spiffeId } })
      o.metrics.countProofs(verdict.attestorTypes, 'success')
      if (p) o.metrics.observeDuration((o.platform.now() - p.startedAt) / 1000)
      o.logger.info(LOG_MESSAGES.authorized, { client, spiffeId, policy: verdict.policy, agentAttestationAttributes: verdict.attributes })
      if (svid) {
        o.metrics.svidsIssued++
        o.logger.info(LOG_MESSAGES.svidIssued, {
          client,
          spiffeId,
          serial: svid.serialHex,
          notAfter: new Date(svid.notAfter).toISOString(),
        })
      }
      const expiresAt = svid?.notAfter ?? now + o.svidTtlMs
      return c.json({
        verdict: 'ok',
        policy: verdict.policy,
        attestorTypes: verdict.attestorTypes,
        checks: verdict.checks,
        tolerancesUsed: verdict.tolerancesUsed,
        spiffeId,
        attributes: verdict.attributes,
        svid: svid ? [toPem('CERTIFICATE', svid.der), ...(o.ca.crossPem() ? [o.ca.crossPem()!] : [])] : [],
        bundle: o.ca.authoritiesPem(),
        expiresAt: new Date(expiresAt).toISOString(),
        reattestAfter: new Date(now + (expiresAt - now) / 2).toISOString(),
      })
    } catch (e) {
      if (isVerifyError(e)) {
        const outcome =
          e.code === 'ERR_SESSION_UNKNOWN'
            ? 'unknown_session'
            : e.code === 'ERR_AGENT_BANNED'
              ? 'banned'
              : e.code === 'ERR_RATE_LIMITED'
                ? 'rate_limited'
                : 'failure'
        o.metrics.countProofs(types, outcome)
        o.logger.warn(LOG_MESSAGES.attestationFailed, { client, phase: 'answer', ...failureFields(e) })
      }
      throw e
    }
  })
  return app
}
