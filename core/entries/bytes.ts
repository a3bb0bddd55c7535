// vouch/bytes: strict hex, base64 and base64url codecs, PEM, and a constant-time compare.
export { toHex, fromHex, toBase64, fromBase64, toBase64Url, fromBase64Url } from '../bytes/encoding.ts'
export { parsePemBlocks, parsePemCertificates, toPem, type PemBlock } from '../bytes/pem.ts'
export { timingSafeEqual } from '../bytes/equal.ts'
