#!/usr/bin/env node
// The `vouch` command. Bun and Deno run the TypeScript sources directly; on Node, tsx's ESM
// loader is registered first (Node 20 cannot strip types by itself).
if (!process.versions.bun && !globalThis.Deno) {
  const { register } = await import('tsx/esm/api')
  register()
}
const { main } = await import(new URL('../cli/main.ts', import.meta.url).href)
process.exitCode = await main(process.argv.slice(2))
