/**
 * The names in the listener certificate's subjectAltName: the `listen` host, and the
 * `serverNames` the config adds (a load balancer's DNS name, a virtual IP), so an agent dialing
 * the service by any of them passes the TLS name check (RFC 6125 §6: DNS names against dNSName,
 * IP addresses against iPAddress).
 */
import { parseIpAddress } from '../../core/x509/ip-address.ts'

/** The most names `serverNames` may list. */
export const MAX_SERVER_NAMES = 32
const MAX_DNS_NAME = 253
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** Why `name` cannot be a listener certificate name, or undefined when it can (a DNS name or an IP address). */
export function serverNameProblem(name: string): string | undefined {
  if (parseIpAddress(name)) return undefined
  if (name.length > MAX_DNS_NAME) return `a DNS name is at most ${MAX_DNS_NAME} characters, found ${name.length}`
  const labels = name.toLowerCase().split('.')
  if (!labels.every((l) => DNS_LABEL.test(l)))
    return `expected a DNS name (labels of letters, digits and inner '-', dot-separated) or an IP address, found ${JSON.stringify(name)}`
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return `expected a DNS name or an IP address, found ${JSON.stringify(name)}`
  return undefined
}

/**
 * The subjectAltName of the listener certificate: the listen host (all interfaces, `0.0.0.0` or
 * `::`, give `localhost` and the loopback addresses; an IP address also gives `localhost`), then
 * `serverNames`, each name once (DNS names compared without case).
 */
export function listenerNames(host: string, serverNames: readonly string[] = []): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set<string>()
  const ipAddresses = new Set<string>()
  const add = (name: string) => (parseIpAddress(name) ? ipAddresses.add(name.toLowerCase()) : dnsNames.add(name.toLowerCase()))
  if (host === '0.0.0.0' || host === '::') {
    add('localhost')
    add('127.0.0.1')
    if (host === '::') add('::1')
  } else {
    add(host)
    if (parseIpAddress(host)) add('localhost')
  }
  for (const name of serverNames) add(name)
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] }
}
