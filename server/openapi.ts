/** The v1 HTTP protocol (docs/protocol.md) as an OpenAPI 3.1 document, served at GET /v1/openapi.json. */
import { AGENT_BANNED, NO_POLICY_AUTHORIZES, SESSION_EXPIRED } from '../core/messages.ts'
import { ATTESTOR_TYPES } from '../core/policy/attribute-keys.ts'

const error = { $ref: '#/components/schemas/Error' }
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: error } } })
const b64 = { type: 'string', contentEncoding: 'base64' }

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'vouch attestation server',
    version: '1',
    description: 'TPM tpm_devid / tpm_ek node attestation issuing X.509-SVIDs. See docs/protocol.md.',
  },
  paths: {
    '/v1/attest': {
      post: {
        summary: 'Start an attestation: evidence -> session ID and challenges',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AttestRequest' } } } },
        responses: {
          '200': { description: 'challenges', content: { 'application/json': { schema: { $ref: '#/components/schemas/Challenge' } } } },
          '400': errorResponse('malformed request or evidence'),
          '401': errorResponse('evidence fails a check (DevID chain, EK trust, certification)'),
          '403': errorResponse(NO_POLICY_AUTHORIZES),
          '413': errorResponse('request body too large'),
          '415': errorResponse('content type is not application/json (ERR_REQUEST_MEDIA_TYPE)'),
          '429': errorResponse('rate limit of the client address (Retry-After says when to retry)'),
          '503': errorResponse('session store full'),
        },
      },
    },
    '/v1/attest/{sessionId}/answer': {
      post: {
        summary: 'Answer the challenges: proofs and the new public key -> verdict and X.509-SVID',
        parameters: [{ name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AnswerRequest' } } } },
        responses: {
          '200': { description: 'verdict', content: { 'application/json': { schema: { $ref: '#/components/schemas/Verdict' } } } },
          '400': errorResponse('malformed answer, or a key to certify that is refused (ERR_SVID_KEY_REJECTED)'),
          '401': errorResponse('a proof fails (DevID signature, activated secret, proof of possession of the new key)'),
          '403': errorResponse(AGENT_BANNED),
          '404': errorResponse('unknown session ID (never issued, or already answered)'),
          '410': errorResponse(SESSION_EXPIRED),
          '429': errorResponse('rate limit of the client address or the attested identity (Retry-After says when to retry)'),
        },
      },
    },
    '/v1/bundle': {
      get: {
        summary: 'SPIFFE bundle of the trust domain (JWKS)',
        responses: { '200': { description: 'bundle', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/v1/bundle.pem': {
      get: {
        summary: 'X.509 authorities as PEM',
        responses: { '200': { description: 'PEM', content: { 'application/x-pem-file': { schema: { type: 'string' } } } } },
      },
    },
    '/v1/entries': {
      get: {
        summary: 'Registration entries parented to the calling agent (mTLS with its node X.509-SVID; docs/entries.md)',
        responses: {
          '200': { description: 'entries', content: { 'application/json': { schema: { type: 'object' } } } },
          '401': errorResponse('no client certificate, or not the current SVID of a registered agent'),
          '403': errorResponse('the agent is banned (ERR_AGENT_BANNED)'),
        },
      },
    },
    '/v1/svid/x509': {
      post: {
        summary: 'X.509-SVID for a registration entry of the calling agent (mTLS): entry ID and PKCS#10 CSR',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', required: ['entryId', 'csr'], properties: { entryId: { type: 'string' }, csr: b64 } },
            },
          },
        },
        responses: {
          '200': { description: 'svid, bundle, expiresAt', content: { 'application/json': { schema: { type: 'object' } } } },
          '400': errorResponse('malformed request or CSR (ERR_ENTRY_CSR_INVALID)'),
          '401': errorResponse('no valid agent client certificate (ERR_ENTRY_UNAUTHENTICATED)'),
          '403': errorResponse('the entry is not parented to the caller (ERR_ENTRY_NOT_AUTHORIZED), or the agent is banned'),
          '404': errorResponse('no such entry'),
        },
      },
    },
    '/v1/svid/jwt': {
      post: {
        summary: 'JWT-SVID (ES256) for a registration entry of the calling agent (mTLS): entry ID and audience',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['entryId', 'audience'],
                properties: {
                  entryId: { type: 'string' },
                  audience: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 16 }] },
                },
              },
            },
          },
        },
        responses: {
          '200': { description: 'token, expiresAt', content: { 'application/json': { schema: { type: 'object' } } } },
          '400': errorResponse('malformed request or audience'),
          '401': errorResponse('no valid agent client certificate'),
          '403': errorResponse('the entry is not parented to the caller, or the agent is banned'),
          '404': errorResponse('no such entry'),
        },
      },
    },
    '/.well-known/openid-configuration': {
      get: { summary: 'OIDC discovery for the JWT-SVID issuer', responses: { '200': { description: 'provider metadata' } } },
    },
    '/keys': { get: { summary: 'JWT-SVID signing keys as a JWK Set (the OIDC jwks_uri)', responses: { '200': { description: 'JWKS' } } } },
    '/v1/openapi.json': { get: { summary: 'this document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition' } } } },
    '/live': { get: { summary: 'liveness (also /livez)', responses: { '200': { description: 'alive' } } } },
    '/ready': {
      get: {
        summary: 'readiness: policy loaded, database open (also /readyz); the body names the policy generation and SHA-256',
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string', pattern: '^ERR_' }, message: { type: 'string' } },
      },
      AttestRequest: {
        type: 'object',
        required: ['providedMethods', 'evidence'],
        properties: {
          providedMethods: { type: 'array', items: { type: 'string', enum: [...ATTESTOR_TYPES] }, minItems: 1, maxItems: 8 },
          evidence: {
            type: 'object',
            description: 'per attestor type, SPIRE AttestationRequest JSON (PascalCase, base64)',
            additionalProperties: { type: 'object' },
          },
        },
      },
      Challenge: {
        type: 'object',
        required: ['sessionId', 'expiresAt', 'challenges'],
        properties: {
          sessionId: { type: 'string' },
          expiresAt: { type: 'string', format: 'date-time' },
          challenges: { type: 'object', additionalProperties: { type: 'object' } },
        },
      },
      AnswerRequest: {
        type: 'object',
        required: ['answers'],
        properties: {
          answers: { type: 'object', additionalProperties: { type: 'object' } },
          publicKey: {
            ...b64,
            description:
              'SubjectPublicKeyInfo DER of the key to certify (RSA 2048..8192 with e = 65537, P-256 or P-384); bound into the proofs',
          },
          keyProof: {
            ...b64,
            description:
              'with publicKey: its signature over "vouch svid key proof v1" || 0x00 || sessionId || SHA-256(SPKI DER) (docs/protocol.md "SVID key")',
          },
          csr: { ...b64, description: 'instead of publicKey: a PKCS#10 CSR (DER) signed by the key to certify; only its key is used' },
        },
      },
      Verdict: {
        type: 'object',
        required: ['verdict', 'policy', 'attestorTypes', 'checks', 'spiffeId', 'attributes', 'svid', 'expiresAt', 'reattestAfter'],
        properties: {
          verdict: { const: 'ok' },
          policy: { type: 'string', description: 'the policy that authorized the agent' },
          attestorTypes: { type: 'array', items: { type: 'string' } },
          checks: {
            type: 'array',
            description: 'every check performed, in order, with what it found',
            items: {
              type: 'object',
              required: ['name', 'ok', 'detail'],
              properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } },
            },
          },
          tolerancesUsed: {
            type: 'array',
            description: 'the certificate-profile tolerances (policy config.tolerate) this attestation needed; empty when none',
            items: {
              type: 'object',
              required: ['check', 'tolerance'],
              properties: { check: { type: 'string' }, tolerance: { type: 'string' } },
            },
          },
          spiffeId: { type: 'string', format: 'uri' },
          attributes: { type: 'object', additionalProperties: { type: 'string' } },
          svid: {
            type: 'array',
            items: { type: 'string' },
            description: 'PEM: the X.509-SVID leaf (then intermediates, none today); empty without publicKey',
          },
          bundle: { type: 'string', description: 'PEM: the trust domain X.509 authorities (the server CA root)' },
          expiresAt: { type: 'string', format: 'date-time' },
          reattestAfter: { type: 'string', format: 'date-time', description: 'half the SVID lifetime' },
        },
      },
    },
  },
} as const
