/**
 * Errors as JSON `{ code, message }`: a VerifyError keeps its code and message (the seed's
 * messages, never secrets) with the status its code declares (core/errors.ts); anything else is a
 * 500 with a generic message, the real error logged, never sent. A rate limit's 429 carries Retry-After.
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { isVerifyError, VerifyError, type CodeOf, type ErrorCode } from '../../core/errors.ts'
import { INTERNAL_ERROR, REQUEST_TOO_LARGE } from '../../core/messages.ts'
import { type ClientAddressOf, clientAddress } from '../client-address.ts'
import { httpStatusOf } from '../http-status.ts'
import type { Logger } from '../logging.ts'
import { RateLimitError } from '../rate-limit.ts'

export interface ErrorBody {
  readonly code: ErrorCode
  readonly message: string
}

/** A request-level mistake that is not about the evidence (wrong media type). */
export class RequestError extends VerifyError<CodeOf<'request'>> {
  static override readonly family = 'request'
}

/** `{ code, message }` with the status `code` declares. */
export function errorResponse(c: Context, code: ErrorCode, message: string): Response {
  const body: ErrorBody = { code, message }
  return c.json(body, httpStatusOf(code) as 400)
}

/** `clientOf`: the app's client address reader (default: the address rememberClientAddress noted). */
export function handleError(logger: Logger, clientOf?: ClientAddressOf) {
  return function onError(err: Error, c: Context): Response {
    if (err instanceof RateLimitError) c.header('Retry-After', String(err.retryAfterSeconds))
    if (isVerifyError(err)) return errorResponse(c, err.code, err.message)
    if (err instanceof HTTPException) {
      if (err.status === 413) return errorResponse(c, 'ERR_INPUT_TOO_LARGE', REQUEST_TOO_LARGE)
      return errorResponse(c, 'ERR_EVIDENCE_MALFORMED', err.message || 'bad request')
    }
    logger.error('Internal error', {
      path: c.req.path,
      client: (clientOf ?? clientAddress)(c),
      error: err.name,
      reason: err.message.slice(0, 200),
    })
    return errorResponse(c, 'ERR_INTERNAL', INTERNAL_ERROR)
  }
}
