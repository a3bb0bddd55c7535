/**
 * POST /v1/attest                      evidence -> session ID + challenges (docs/protocol.md)
 * POST /v1/attest/{sessionId}/answer   answers + the agent's new public key (SPKI or PKCS#10 CSR) -> verdict + X.509-SVID
 *
 * The new key is bound to the attestation: binding = SHA-256(SPKI DER) is covered by the DevID
 * signature and the activation HMAC (core/attestation), so a swapped key fails the proofs.
 * A banned agent (registry) is refused after its proofs pass, before any SVID is issued.
 */
import { Hono } from 'hono'
import { toPem } from '../../core/bytes/pem.ts'
import { fromBase64 } from '../../core/bytes/encoding.ts'
import { AttestationError, isVerifyError } from '../../core/errors.ts'
import type { AttestationVerifier } from '../../core/attestation/verifier.ts'
import type { Platform } from '../../core/platform.ts'
import { parseSubjectPublicKeyInfo } from '../../core/x509/spki.ts'
import type { ServerCa } from '../ca/authority.ts'
import { verifyCertificationRequest } from '../ca/csr.ts'
import { LOG_MESSAGES, type Logger } from '../logging.ts'
import type { Metrics } from '../metrics.ts'
import { RequestError } from '../middleware/errors.ts'
import type { AgentRegistry } from '../registry/registry.ts'

export const AGENT_BANNED_MESSAGE = 'agent is banned'

export interface AttestRouteOptions {
  readonly verifier: AttestationVerifier
  readonly ca: ServerCa
  readonly registry: AgentRegistry
  readonly platform: Platform
  readonly logger: Logger
  readonly metrics: Metrics
  readonly svidTtlMs: number
}

async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const ct = req.headers.get('content-type') ?? ''
  if (ct !== '' && !/^application\/json\b/i.test(ct))
    throw new RequestError(415, 'ERR_EVIDENCE_MALFORMED', `content-type: expected application/json, found ${ct.slice(0, 60)}`)
  const text = await req.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'request body: not valid JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'request body: expected a JSON object')
  return body as Record<string, unknown>
}

interface Pending {
  readonly types: readonly string[]
  readonly startedAt: number
  readonly expiresAt: number
}

export function attestRoutes(o: AttestRouteOptions): Hono {
  const app = new Hono()
  // attestor types and start time per session, for metrics; purged with the sessions
  const pending = new Map<string, Pending>()
  const purge = (): void => {
    const t = o.platform.now()
    for (const [id, p] of pending) if (p.expiresAt + 60_000 <= t) pending.delete(id)
  }

  app.post('/v1/attest', async (c) => {
    const body = await jsonBody(c.req.raw)
    const pm = body.providedMethods
    if (!Array.isArray(pm) || !pm.every((m) => typeof m === 'string'))
      throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'providedMethods: expected an array of attestor type names')
    if (typeof body.evidence !== 'object' || body.evidence === null || Array.isArray(body.evidence))
      throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'evidence: expected an object keyed by attestor type')
    const providedMethods = pm as string[]
    o.logger.info(LOG_MESSAGES.connected, { route: 'attest' })
    o.logger.info(LOG_MESSAGES.loginStarted, { providedMethods })
    purge()
    try {
      const started = await o.verifier.start({ providedMethods, evidence: body.evidence as Record<string, unknown> })
      pending.set(started.sessionId, { types: Object.keys(started.challenges), startedAt: o.platform.now(), expiresAt: started.expiresAt })
      return c.json({ sessionId: started.sessionId, expiresAt: new Date(started.expiresAt).toISOString(), challenges: started.challenges })
    } catch (e) {
      if (isVerifyError(e)) {
        for (const t of new Set(providedMethods)) o.metrics.countProof(t, 'failure')
        o.logger.warn(LOG_MESSAGES.attestationFailed, { phase: 'evidence', providedMethods, code: e.code, message: e.message })
      }
      throw e
    }
  })

  app.post('/v1/attest/:sessionId/answer', async (c) => {
    const sessionId = c.req.param('sessionId')
    const body = await jsonBody(c.req.raw)
    if (typeof body.answers !== 'object' || body.answers === null || Array.isArray(body.answers))
      throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'answers: expected an object keyed by attestor type')
    if (body.publicKey !== undefined && body.csr !== undefined)
      throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'give publicKey or csr, not both')
    let spki: Uint8Array | undefined
    if (body.publicKey !== undefined) {
      if (typeof body.publicKey !== 'string')
        throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'publicKey: expected base64 SubjectPublicKeyInfo DER')
      spki = fromBase64(body.publicKey, 'publicKey')
      let key
      try {
        key = parseSubjectPublicKeyInfo(spki)
      } catch (e) {
        if (!isVerifyError(e)) throw e
        throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', `publicKey: not a supported SubjectPublicKeyInfo (${e.message})`)
      }
      if (!(await o.ca.isUsableKey(spki, key)))
        throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'publicKey: the key does not import (an EC point off its curve?)')
    } else if (body.csr !== undefined) {
      if (typeof body.csr !== 'string') throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', 'csr: expected base64 PKCS#10 DER')
      const der = fromBase64(body.csr, 'csr')
      try {
        spki = (await verifyCertificationRequest(der, o.platform)).spki
      } catch (e) {
        if (!isVerifyError(e)) throw e
        throw new RequestError(400, 'ERR_EVIDENCE_MALFORMED', `csr: not a valid certification request (${e.message})`)
      }
    }
    const p = pending.get(sessionId)
    pending.delete(sessionId)
    const types = p?.types ?? ['unknown']
    try {
      const binding = spki ? await o.platform.crypto.digest('SHA-256', spki) : undefined
      const verdict = await o.verifier.answer(sessionId, body.answers as Record<string, unknown>, binding ? { binding } : {})
      const spiffeId = verdict.spiffeId!
      const now = o.platform.now()
      // the SVID is made first and released only if the commit below finds the agent not banned
      // (the ban check and the record share the registry's batched transaction)
      const svid = spki ? await o.ca.issueSvid(spki, spiffeId, o.svidTtlMs) : undefined
      const recorded = await o.registry.commitAttestation({
        spiffeId,
        attestorType: verdict.attestorTypes.join('+'),
        attributes: verdict.attributes,
        selectors: verdict.selectors.map((s) => `${s.type}:${s.value}`),
        at: now,
        ...(svid ? { svidSerial: svid.serialHex, svidExpiresAt: svid.notAfter } : {}),
      })
      if (recorded === 'banned') throw new AttestationError('ERR_AGENT_BANNED', AGENT_BANNED_MESSAGE, { detail: { spiffeId } })
      for (const t of verdict.attestorTypes) o.metrics.countProof(t, 'success')
      if (p) o.metrics.observeDuration((o.platform.now() - p.startedAt) / 1000)
      o.logger.info(LOG_MESSAGES.authorized, { spiffeId, policy: verdict.policy, agentAttestationAttributes: verdict.attributes })
      if (svid) {
        o.metrics.svidsIssued++
        o.logger.info(LOG_MESSAGES.svidIssued, { spiffeId, serial: svid.serialHex, notAfter: new Date(svid.notAfter).toISOString() })
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
        svid: svid ? [toPem('CERTIFICATE', svid.der)] : [],
        bundle: toPem('CERTIFICATE', o.ca.certificate.raw),
        expiresAt: new Date(expiresAt).toISOString(),
        reattestAfter: new Date(now + (expiresAt - now) / 2).toISOString(),
      })
    } catch (e) {
      if (isVerifyError(e)) {
        const outcome = e.code === 'ERR_SESSION_UNKNOWN' ? 'unknown_session' : e.code === 'ERR_AGENT_BANNED' ? 'banned' : 'failure'
        for (const t of types) o.metrics.countProof(t, outcome)
        o.logger.warn(LOG_MESSAGES.attestationFailed, { phase: 'answer', code: e.code, message: e.message })
      }
      throw e
    }
  })
  return app
}
