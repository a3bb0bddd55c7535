#!/usr/bin/env node
// The `vouch` command: the compiled CLI in dist/ (built by `npm run build`; the checkout's `npm ci`
// builds it), so Node, Bun and Deno run it with no TypeScript loader.
let cli
try {
  cli = await import('../dist/cli/main.js')
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err
  console.error('vouch: dist/ is missing: run `npm run build` in the checkout')
  process.exit(2)
}
process.exitCode = await cli.main(process.argv.slice(2))
