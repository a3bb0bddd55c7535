// vouch/x509: X.509 parsing (strict DER), RFC 5280 path validation with name constraints, names,
// extensions, fingerprints, and certificate making (for CAs and tests).
export * from '../x509/index.ts'
