import { SpiffeError } from '../errors.ts'
import { PATH_BAD_CHAR, PATH_DOT_SEGMENT, PATH_EMPTY_SEGMENT, PATH_NO_LEADING_SLASH, PATH_TRAILING_SLASH } from '../messages.ts'

/**
 * SPIFFE ID path rules, SPIFFE-ID.md §2.2: segments separated by `/`, each non-empty, not `.` or
 * `..`, made of `a-z A-Z 0-9 . - _` only (so no percent-encoding, query or fragment), no trailing
 * slash. The empty path is the trust domain's own ID. Messages are go-spiffe's (spiffeid/errors.go)
 * so the shared case table can be compared verbatim (core/messages.ts).
 */

function invalid(message: string): SpiffeError {
  return new SpiffeError('ERR_SPIFFE_ID_INVALID', message)
}

/** §2.2: `a-z A-Z 0-9 . - _` (checked per UTF-16 unit; every non-ASCII unit fails). */
export function isPathSegmentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f
}

/** Throws unless `path` is "" or a valid absolute SPIFFE ID path (§2.2). */
export function checkPath(path: string): void {
  if (path === '') return
  if (path.charCodeAt(0) !== 0x2f) throw invalid(PATH_NO_LEADING_SLASH)
  let start = 0
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 0x2f) {
      if (i > 0) checkSegmentShape(path.slice(start + 1, i), false)
      start = i
      continue
    }
    if (!isPathSegmentChar(c)) throw invalid(PATH_BAD_CHAR)
  }
  checkSegmentShape(path.slice(start + 1), true)
}

function checkSegmentShape(segment: string, last: boolean): void {
  if (segment === '') throw invalid(last ? PATH_TRAILING_SLASH : PATH_EMPTY_SEGMENT)
  if (segment === '.' || segment === '..') throw invalid(PATH_DOT_SEGMENT)
}

/** Throws unless `segment` is one valid path segment (no `/`). */
export function checkPathSegment(segment: string): void {
  if (segment === '') throw invalid(PATH_EMPTY_SEGMENT)
  if (segment === '.' || segment === '..') throw invalid(PATH_DOT_SEGMENT)
  for (let i = 0; i < segment.length; i++) {
    if (!isPathSegmentChar(segment.charCodeAt(i))) throw invalid(PATH_BAD_CHAR)
  }
}

/** `/a/b` from `['a', 'b']`, each segment checked; `[]` gives "". */
export function joinPathSegments(segments: readonly string[]): string {
  for (const s of segments) checkPathSegment(s)
  return segments.map((s) => '/' + s).join('')
}
