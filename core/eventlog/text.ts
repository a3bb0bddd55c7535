// Strings inside event data: UCS-2 (UEFI CHAR16) and ASCII, decoded without throwing.

/** UTF-16LE code units to a string, stopping at a NUL; a lone trailing byte is ignored. */
export function decodeUtf16le(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b[i]! | (b[i + 1]! << 8)
    if (c === 0) break
    s += String.fromCharCode(c)
  }
  return s
}

/** Printable ASCII (and tab/newline) with a trailing NUL allowed; undefined for anything else. */
export function decodeAscii(b: Uint8Array): string | undefined {
  let end = b.length
  while (end > 0 && b[end - 1] === 0) end--
  for (let i = 0; i < end; i++) {
    const c = b[i]!
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c > 0x7e) return undefined
  }
  // checked ASCII: the codes make the string directly, in chunks that stay far below any argument limit
  let s = ''
  for (let i = 0; i < end; i += ASCII_CHUNK) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + ASCII_CHUNK)) as unknown as number[])
  }
  return s
}

const ASCII_CHUNK = 4096

/** Text with control characters escaped, for terminal output. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
