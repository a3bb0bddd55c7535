/**
 * Errors as JSON `{ code, message }`: a VerifyError keeps its code and message (the seed's
 * messages, never secrets) with the status from http-status.ts; anything else is a 500 with a
 * generic message, the real error logged, never sent. A rate limit's 429 carries Retry-After.
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { isVerifyError } from '../../core/errors.ts'
import { httpStatusOf } from '../http-status.ts'
import type { Logger } from '../logging.ts'
import type { ClientAddressOf } from '../client-address.ts'
import { RateLimitError } from '../rate-limit.ts'

export interface ErrorBody {
  readonly code: string
  readonly message: string
}

/** A request-level mistake (bad JSON, wrong type, oversized) with its code. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 413 | 415,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function errorResponse(c: Context, status: number, body: ErrorBody): Response {
  return c.json(body, status as 400)
}

export function handleError(logger: Logger, clientAddress?: ClientAddressOf) {
  return function onError(err: Error, c: Context): Response {
    if (err instanceof RateLimitError) {
      c.header('Retry-After', String(err.retryAfterSeconds))
      return errorResponse(c, 429, { code: err.code, message: err.message })
    }
    if (err instanceof RequestError) return errorResponse(c, err.status, { code: err.code, message: err.message })
    if (isVerifyError(err)) return errorResponse(c, httpStatusOf(err.code), { code: err.code, message: err.message })
    if (err instanceof HTTPException) {
      const status = err.status
      if (status === 413) return errorResponse(c, 413, { code: 'ERR_INPUT_TOO_LARGE', message: 'request body is too large' })
      return errorResponse(c, status, { code: 'ERR_EVIDENCE_MALFORMED', message: err.message || 'bad request' })
    }
    logger.error('Internal error', {
      ...(clientAddress ? { client: clientAddress(c) } : {}),
      path: c.req.path,
      error: err.name,
      reason: err.message.slice(0, 200),
    })
    return errorResponse(c, 500, { code: 'ERR_INTERNAL', message: 'internal server error' })
  }
}
