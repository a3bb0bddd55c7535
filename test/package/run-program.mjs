// Runs program.mjs on Node, Bun or Deno with that runtime's own platform from the package, and
// prints the results as one JSON line. Usage: <runtime> run-program.mjs vectors.json
import { readFile } from 'node:fs/promises'
import { runProgram } from './program.mjs'

async function platformOfThisRuntime() {
  if (globalThis.Deno) return (await import('vouch/deno')).loadDenoPlatform({ onKernelFallback: () => {} })
  if (globalThis.Bun) return (await import('vouch/bun')).createBunPlatform()
  return (await import('vouch/node')).loadNodePlatform()
}

const vectors = JSON.parse(await readFile(process.argv[2], 'utf8'))
const results = await runProgram(vectors, await platformOfThisRuntime())
console.log(JSON.stringify(results))
