// A Cloudflare Worker that runs the whole attestation of `vouch server` (docs/protocol.md):
//   POST /v1/attest                     { providedMethods, evidence } -> { sessionId, expiresAt, challenges }
//   POST /v1/attest/{sessionId}/answer  { answers, publicKey, keyProof } -> verdict + X.509-SVID + bundle
// Failures: { code, message } with the status the code declares (the same as `vouch server`).
//
// Sealed sessions: a start keeps nothing; the challenge state travels to the agent sealed under
// SESSION_KEYS and comes back with the answer. Single use: a use-once record in a Durable Object
// (src/use-once.ts), claimed before any check. Policy, CA and keys come from bindings
// (src/bindings.ts). What `vouch server` adds and this Worker does not: the agent registry (bans,
// `vouch agent list`), rate limits (use a rate-limiting binding or a WAF rule), metrics, CSRs.
import { AttestationError, errorStatus, isVerifyError, VerifyError } from 'vouch'
import { checkSvidKey, verifySvidKeyProof } from 'vouch/attestation'
import { fromBase64, toPem } from 'vouch/bytes'
import { parseSubjectPublicKeyInfo } from 'vouch/x509'
import { type Env, type Service, serviceFor } from './bindings'

export { UseOnceRecords } from './use-once'
export type { Env } from './bindings'

/** largest request body read (the same bound as `vouch server`) */
const MAX_BODY_BYTES = 256 * 1024
const ANSWER_PATH = /^\/v1\/attest\/([^/]+)\/answer$/

const malformed = (message: string) => new AttestationError('ERR_EVIDENCE_MALFORMED', message)

/** The body, refused past MAX_BODY_BYTES whether or not it declares its length (a chunked body is read no further). */
async function readBounded(request: Request): Promise<Uint8Array> {
  const tooLarge = () => new VerifyError('ERR_INPUT_TOO_LARGE', `request body is larger than ${MAX_BODY_BYTES} bytes`)
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge()
  if (!request.body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let length = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.length
    if (length > MAX_BODY_BYTES) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(length)
  let at = 0
  for (const c of chunks) {
    bytes.set(c, at)
    at += c.length
  }
  return bytes
}

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? ''
  if (type !== '' && !/^application\/json\b/i.test(type))
    throw new VerifyError('ERR_REQUEST_MEDIA_TYPE', `content-type: expected application/json, found ${type.slice(0, 60)}`)
  const bytes = await readBounded(request)
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw malformed('request body: not valid JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed('request body: expected a JSON object')
  return body as Record<string, unknown>
}

async function start(request: Request, s: Service): Promise<Response> {
  const body = await jsonBody(request)
  const pm = body.providedMethods
  if (!Array.isArray(pm) || !pm.every((m) => typeof m === 'string'))
    throw malformed('providedMethods: expected an array of attestor type names')
  if (typeof body.evidence !== 'object' || body.evidence === null || Array.isArray(body.evidence))
    throw malformed('evidence: expected an object keyed by attestor type')
  const started = await s.verifier.start({ providedMethods: pm as string[], evidence: body.evidence as Record<string, unknown> })
  return Response.json({
    sessionId: started.sessionId,
    expiresAt: new Date(started.expiresAt).toISOString(),
    challenges: started.challenges,
  })
}

async function answer(sessionId: string, request: Request, s: Service): Promise<Response> {
  const body = await jsonBody(request)
  if (typeof body.answers !== 'object' || body.answers === null || Array.isArray(body.answers))
    throw malformed('answers: expected an object keyed by attestor type')
  if (body.csr !== undefined) throw malformed('csr: not taken here; send publicKey and keyProof (docs/protocol.md "SVID key")')
  // the key to certify, checked before the session is opened; its proof once the session is claimed
  let svidKey: { spki: Uint8Array; binding: Uint8Array; prove: () => Promise<string> } | undefined
  if (body.publicKey !== undefined) {
    if (typeof body.publicKey !== 'string') throw malformed('publicKey: expected base64 SubjectPublicKeyInfo DER')
    const spki = fromBase64(body.publicKey, 'publicKey')
    let key: ReturnType<typeof parseSubjectPublicKeyInfo>
    try {
      key = parseSubjectPublicKeyInfo(spki)
    } catch (e) {
      if (!isVerifyError(e)) throw e
      throw malformed(`publicKey: not a supported SubjectPublicKeyInfo (${e.message})`)
    }
    checkSvidKey(key)
    if (typeof body.keyProof !== 'string')
      throw new AttestationError(
        'ERR_SVID_KEY_UNPROVEN',
        'keyProof: missing; sign the session binding with the new key (docs/protocol.md "SVID key")',
      )
    const signature = fromBase64(body.keyProof, 'keyProof')
    const binding = await s.platform.crypto.digest('SHA-256', spki)
    svidKey = {
      spki,
      binding,
      prove: async () => {
        await verifySvidKeyProof(key, sessionId, binding, signature, s.platform)
        return 'keyProof over the session binding verifies'
      },
    }
  }
  const verdict = await s.verifier.answer(
    sessionId,
    body.answers as Record<string, unknown>,
    svidKey ? { binding: svidKey.binding, proveKey: svidKey.prove } : {},
  )
  const spiffeId = verdict.spiffeId!
  const now = s.platform.now()
  const svid = svidKey ? await s.ca.issueSvid(svidKey.spki, spiffeId, s.svidTtlMs) : undefined
  console.log(JSON.stringify({ msg: 'Agent attested', spiffeId, policy: verdict.policy, ...(svid ? { serial: svid.serialHex } : {}) }))
  const expiresAt = svid?.notAfter ?? now + s.svidTtlMs
  return Response.json({
    verdict: 'ok',
    policy: verdict.policy,
    attestorTypes: verdict.attestorTypes,
    checks: verdict.checks,
    tolerancesUsed: verdict.tolerancesUsed,
    spiffeId,
    attributes: verdict.attributes,
    svid: svid ? [toPem('CERTIFICATE', svid.der)] : [],
    bundle: s.ca.bundlePem,
    expiresAt: new Date(expiresAt).toISOString(),
    reattestAfter: new Date(now + (expiresAt - now) / 2).toISOString(),
  })
}

function failure(e: VerifyError): Response {
  return Response.json({ code: e.code, message: e.message }, { status: errorStatus(e.code) })
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url)
    const answerPath = ANSWER_PATH.exec(pathname)
    const route = request.method !== 'POST' ? undefined : pathname === '/v1/attest' ? 'start' : answerPath ? 'answer' : undefined
    if (!route) return failure(new VerifyError('ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${pathname.slice(0, 100)}`))
    let s: Service
    try {
      s = await serviceFor(env)
    } catch (e) {
      // a binding is wrong: the operator reads why in the logs, the caller never does
      console.error(JSON.stringify({ msg: 'Configuration error', reason: (e as Error).message }))
      return failure(new VerifyError('ERR_INTERNAL', 'internal server error'))
    }
    try {
      return route === 'start' ? await start(request, s) : await answer(answerPath![1]!, request, s)
    } catch (e) {
      if (isVerifyError(e)) {
        console.log(JSON.stringify({ msg: 'Attestation failed', phase: route, code: e.code }))
        return failure(e)
      }
      console.error(JSON.stringify({ msg: 'Internal error', error: (e as Error).name, reason: String((e as Error).message).slice(0, 200) }))
      return failure(new VerifyError('ERR_INTERNAL', 'internal server error'))
    }
  },
}
