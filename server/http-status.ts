/**
 * Error code -> HTTP status. Each code declares its status in core/errors.ts (ERROR_CATALOGUE), so
 * a code cannot exist without one and no status is guessed from a code's name. Attestation
 * failures are 401 (the agent is not who it claims), refusals 403, client mistakes
 * 400/404/410/413/415, capacity 503, server faults 500.
 */
import { ERROR_CODES, errorStatus, type ErrorCode, type ErrorStatus } from '../core/errors.ts'

export type HttpErrorStatus = ErrorStatus

/** The declared status of every code. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, HttpErrorStatus>> = Object.freeze(
  Object.fromEntries((Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => [code, errorStatus(code)])),
) as Record<ErrorCode, HttpErrorStatus>

/** The status of a code, as declared in core/errors.ts. */
export function httpStatusOf(code: ErrorCode): HttpErrorStatus {
  return errorStatus(code)
}
