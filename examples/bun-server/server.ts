// A Bun server embedding vouch's attestation verifier: an agent proves it holds a TPM whose EK
// chains to a trusted vendor CA (tpm_ek), or a DevID (tpm_devid), in two round trips.
//   POST /attest/start   { providedMethods, evidence }        -> { sessionId, expiresAt, challenges }
//   POST /attest/answer  { sessionId, answers }               -> the verdict (policy, attributes, spiffeId, checks)
// Failures answer 403 { code, message } with a stable ERR_ code; nonces and secrets never leave the server.
// Environment: POLICY_FILE (an AgentAttestation policy document, JSON), TRUST_DOMAIN, PORT (default 3000).
import { createAttestationCaches, createAttestationVerifier, isVerifyError, parsePolicyDocument } from 'vouch'
import { createBunPlatform } from 'vouch/bun'

const policies = parsePolicyDocument(await Bun.file(process.env.POLICY_FILE ?? 'policy.json').json())
const verifier = createAttestationVerifier({
  policies,
  // node:crypto under Bun, plus the bounded caches a long-running verifier wants
  platform: createBunPlatform(createAttestationCaches()),
  trustDomain: process.env.TRUST_DOMAIN ?? 'example.org',
})

async function handle(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname
  if (req.method !== 'POST') return new Response('not found', { status: 404 })
  const body = (await req.json()) as Record<string, unknown>
  if (path === '/attest/start') {
    return Response.json(await verifier.start(body as { providedMethods: string[]; evidence: Record<string, unknown> }))
  }
  if (path === '/attest/answer') {
    const verdict = await verifier.answer(String(body.sessionId), (body.answers ?? {}) as Record<string, unknown>)
    return Response.json({
      ok: verdict.ok,
      policy: verdict.policy,
      spiffeId: verdict.spiffeId,
      attributes: verdict.attributes,
      checks: verdict.checks,
    })
  }
  return new Response('not found', { status: 404 })
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  hostname: '127.0.0.1',
  async fetch(req) {
    try {
      return await handle(req)
    } catch (e) {
      if (isVerifyError(e)) return Response.json({ code: e.code, message: e.message }, { status: 403 })
      if (e instanceof SyntaxError) return Response.json({ code: 'ERR_BAD_JSON', message: 'the body is not JSON' }, { status: 400 })
      throw e
    }
  },
})
console.log(`listening on http://127.0.0.1:${server.port}`)
