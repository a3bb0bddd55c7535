// Entry for Node, Bun and Deno: reads the vectors JSON path from argv, prints the results JSON.
import { readFileSync } from 'node:fs'
import { runPortableSuite, type PortableVectors } from './suite.ts'

const vectors = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as PortableVectors
console.log(JSON.stringify(await runPortableSuite(vectors)))
