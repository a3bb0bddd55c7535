/**
 * Workload SVIDs for attested agents (issue 15, docs/entries.md). Every route authenticates the
 * agent by its node X.509-SVID presented as the mTLS client certificate: the chain verifies
 * against the server's own bundle (verifyX509Svid), the SPIFFE ID is a registered agent that is
 * not banned, and the certificate is the agent's latest SVID (its serial is the registry's), so a
 * workload SVID, issued by the same CA, never passes for an agent.
 *
 * GET  /v1/entries    the entries parented to the caller (its SPIFFE ID or a subset of its selectors)
 * POST /v1/svid/x509  { entryId, csr }       -> X.509-SVID for the entry (CSR signature = possession)
 * POST /v1/svid/jwt   { entryId, audience }  -> JWT-SVID (ES256) for the entry
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import { toPem } from '../../core/bytes/pem.ts'
import { fromBase64 } from '../../core/bytes/encoding.ts'
import { AttestationError, isVerifyError } from '../../core/errors.ts'
import { AGENT_BANNED, CSR_NOT_BASE64_DER, REQUEST_BODY_NOT_JSON, REQUEST_BODY_NOT_OBJECT } from '../../core/messages.ts'
import type { Platform } from '../../core/platform.ts'
import type { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { toHex } from '../../core/bytes/encoding.ts'
import type { ServerCa } from '../ca/authority.ts'
import { verifyCertificationRequest } from '../ca/csr.ts'
import type { JwtAuthority } from '../ca/jwt-authority.ts'
import { EntryError } from '../entries/errors.ts'
import { isParentedTo, type RegistrationEntry } from '../entries/validate.ts'
import type { Logger } from '../logging.ts'
import { type EntryStore, entryJson } from '../registry/entry-store.ts'
import type { AgentRecord } from '../registry/registry.ts'
import type { AgentStore } from '../registry/store.ts'

/** JWT-SVID lifetime when the entry sets none (SPIRE's default) */
export const DEFAULT_JWT_TTL_SECONDS = 300
export const MAX_AUDIENCES = 16
export const MAX_AUDIENCE_LENGTH = 256

/** The mTLS client certificate chain (DER, leaf first) of the request, from the runtime's TLS socket. */
export type ClientCertificates = (c: Context) => readonly Uint8Array[] | undefined

export interface WorkloadRouteOptions {
  /** the server's current bundle (read per request: the CA rotates) */
  readonly bundle: () => SpiffeBundle
  readonly ca: ServerCa
  readonly registry: AgentStore
  readonly entries: EntryStore
  readonly platform: Platform
  readonly logger: Logger
  readonly svidTtlMs: number
  readonly clientCertificates?: ClientCertificates
  readonly jwtAuthority?: JwtAuthority
  /** the `iss` of JWT-SVIDs; default the request's origin */
  readonly jwtIssuer?: () => string | undefined
}

function unauthenticated(message: string): EntryError {
  return new EntryError('ERR_ENTRY_UNAUTHENTICATED', message)
}

async function jsonObject(req: Request): Promise<Record<string, unknown>> {
  let body: unknown
  try {
    body = JSON.parse(await req.text())
  } catch {
    throw new AttestationError('ERR_EVIDENCE_MALFORMED', REQUEST_BODY_NOT_JSON)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AttestationError('ERR_EVIDENCE_MALFORMED', REQUEST_BODY_NOT_OBJECT)
  return body as Record<string, unknown>
}

export function workloadRoutes(o: WorkloadRouteOptions): Hono {
  const app = new Hono()

  async function authenticate(c: Context): Promise<AgentRecord> {
    const chain = o.clientCertificates?.(c)
    if (!chain || chain.length === 0) throw unauthenticated('no client certificate: call over mTLS with the agent X.509-SVID')
    let id: string
    let serial: string
    try {
      const svid = await verifyX509Svid(chain, o.bundle(), { platform: o.platform })
      id = svid.id.toString()
      serial = toHex(svid.certificates[0]!.serialNumber)
    } catch (e) {
      if (!isVerifyError(e)) throw e
      throw unauthenticated(`client certificate is not an X.509-SVID of this trust domain: ${e.code}: ${e.message}`)
    }
    const agent = await o.registry.get(id)
    if (!agent) throw unauthenticated(`client certificate: ${id} is not a registered agent`)
    if (agent.banned) throw new AttestationError('ERR_AGENT_BANNED', AGENT_BANNED, { detail: { spiffeId: id } })
    if (agent.svidSerial === null || agent.svidSerial !== serial)
      throw unauthenticated(`client certificate: not the current SVID of agent ${id} (re-attest for a new one)`)
    return agent
  }

  async function entryFor(agent: AgentRecord, body: Record<string, unknown>): Promise<RegistrationEntry> {
    if (typeof body.entryId !== 'string') throw new EntryError('ERR_ENTRY_INVALID', 'entryId: expected a registration entry ID')
    const entry = await o.entries.get(body.entryId)
    if (!entry) throw new EntryError('ERR_ENTRY_NOT_FOUND', `entryId: no entry ${JSON.stringify(body.entryId.slice(0, 64))}`)
    if (!isParentedTo(entry, agent.spiffeId, new Set(agent.selectors)))
      throw new EntryError('ERR_ENTRY_NOT_AUTHORIZED', `entry ${entry.id} is not parented to agent ${agent.spiffeId}`, {
        detail: { entryId: entry.id },
      })
    return entry
  }

  app.get('/v1/entries', async (c) => {
    const agent = await authenticate(c)
    return c.json({ entries: (await o.entries.listForAgent(agent.spiffeId, agent.selectors)).map(entryJson) })
  })

  app.post('/v1/svid/x509', async (c) => {
    const agent = await authenticate(c)
    const body = await jsonObject(c.req.raw)
    const entry = await entryFor(agent, body)
    if (typeof body.csr !== 'string') throw new EntryError('ERR_ENTRY_CSR_INVALID', CSR_NOT_BASE64_DER)
    let spki: Uint8Array
    try {
      spki = (await verifyCertificationRequest(fromBase64(body.csr, 'csr'), o.platform)).spki
    } catch (e) {
      if (!isVerifyError(e)) throw e
      throw new EntryError('ERR_ENTRY_CSR_INVALID', `csr: ${e.message}`)
    }
    const ttlMs = entry.x509SvidTtlSeconds !== null ? entry.x509SvidTtlSeconds * 1000 : o.svidTtlMs
    const svid = await o.ca.issueSvid(spki, entry.spiffeId, ttlMs, entry.dnsNames)
    o.logger.info('Workload SVID issued', {
      kind: 'x509',
      agent: agent.spiffeId,
      entryId: entry.id,
      spiffeId: entry.spiffeId,
      serial: svid.serialHex,
      notAfter: new Date(svid.notAfter).toISOString(),
    })
    return c.json({
      entryId: entry.id,
      spiffeId: entry.spiffeId,
      svid: [toPem('CERTIFICATE', svid.der), ...(o.ca.crossPem() ? [o.ca.crossPem()!] : [])],
      bundle: o.ca.authoritiesPem(),
      expiresAt: new Date(svid.notAfter).toISOString(),
    })
  })

  app.post('/v1/svid/jwt', async (c) => {
    const agent = await authenticate(c)
    const body = await jsonObject(c.req.raw)
    const entry = await entryFor(agent, body)
    if (!o.jwtAuthority) throw new EntryError('ERR_NOT_SUPPORTED', 'this server has no JWT-SVID authority')
    const aud = typeof body.audience === 'string' ? [body.audience] : body.audience
    if (
      !Array.isArray(aud) ||
      aud.length === 0 ||
      aud.length > MAX_AUDIENCES ||
      !aud.every((a) => typeof a === 'string' && a !== '' && a.length <= MAX_AUDIENCE_LENGTH)
    )
      throw new EntryError(
        'ERR_ENTRY_AUDIENCE_INVALID',
        `audience: expected 1..${MAX_AUDIENCES} non-empty strings of at most ${MAX_AUDIENCE_LENGTH} characters`,
      )
    const now = Math.floor(o.platform.now() / 1000)
    const exp = now + (entry.jwtSvidTtlSeconds ?? DEFAULT_JWT_TTL_SECONDS)
    const token = await o.jwtAuthority.sign({
      sub: entry.spiffeId,
      aud: aud as string[],
      exp,
      iat: now,
      iss: o.jwtIssuer?.() ?? new URL(c.req.url).origin,
    })
    o.logger.info('Workload SVID issued', { kind: 'jwt', agent: agent.spiffeId, entryId: entry.id, spiffeId: entry.spiffeId })
    return c.json({ entryId: entry.id, spiffeId: entry.spiffeId, token, expiresAt: new Date(exp * 1000).toISOString() })
  })
  return app
}
