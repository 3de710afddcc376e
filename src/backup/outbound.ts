// Where workers may connect on a tenant's behalf. Sources, restore targets and S3 endpoints are
// hosts a tenant names, so without a policy a tenant could point the platform at addresses only
// it can reach: the cloud metadata service (169.254.169.254), the control plane's own network, a
// Unix socket of the worker's machine. Every such connection is resolved here first and pinned to
// the checked address (libpq gets PGHOSTADDR, node-pg the address, the S3 client a checking DNS
// lookup), so a name that resolves differently a moment later cannot slip past the check.
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, connect, isIP, type LookupFunction } from 'node:net';
import { OutboundDeniedError } from './errors';

export interface OutboundConfig {
  /** CIDRs (or single addresses) never connected to. */
  deny: string[];
  /** When set, the only CIDRs connected to (minus `deny`). */
  allow?: string[] | null;
  /** Unix-domain sockets (a libpq host starting with '/' or '@'). */
  unixSockets?: boolean;
}

/** Link-local (cloud metadata services), "this network" and the AWS IPv6 metadata address. */
export const DEFAULT_OUTBOUND_DENY = ['169.254.0.0/16', 'fe80::/10', '0.0.0.0/8', '::/128', 'fd00:ec2::254/128'];

/** Parses "10.0.0.0/8", "fd00::/8" or a single address; throws a readable Error otherwise. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits, extra] = text.trim().split('/');
  const v = isIP(address);
  if (v === 0 || extra !== undefined) throw new Error(`${JSON.stringify(text)} is not an IP address or CIDR`);
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d+$/.test(bits ?? String(max)) || prefix > max) throw new Error(`${JSON.stringify(text)} has an invalid prefix length`);
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

function blockList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const { address, prefix, family } = parseCidr(c);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** "::ffff:169.254.169.254" is 169.254.169.254 to the network: check it as such. */
function canonical(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export class OutboundPolicy {
  private readonly deny: BlockList;
  private readonly allow: BlockList | null;
  readonly unixSockets: boolean;
  private readonly description: string;

  constructor(cfg: OutboundConfig) {
    this.deny = blockList(cfg.deny);
    this.allow = cfg.allow?.length ? blockList(cfg.allow) : null;
    this.unixSockets = cfg.unixSockets ?? false;
    this.description = cfg.allow?.length ? `OUTBOUND_ALLOW (${cfg.allow.join(', ')}) minus OUTBOUND_DENY` : 'OUTBOUND_DENY';
  }

  allows(address: string): boolean {
    const { address: a, family } = canonical(address);
    if (this.deny.check(a, family)) return false;
    return this.allow === null || this.allow.check(a, family);
  }

  /** For input validation: refuses a literal address or a socket path; names are resolved later, at connect time. */
  checkLiteral(host: string, what: string): void {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (isUnixSocket(bare)) {
      if (!this.unixSockets) throw new OutboundDeniedError(`${what}: Unix-domain sockets are not allowed (OUTBOUND_UNIX_SOCKETS)`);
      return;
    }
    if (isIP(bare) !== 0 && !this.allows(bare)) throw new OutboundDeniedError(`${what}: ${bare} is not an allowed address (${this.description})`);
  }

  /**
   * Every address `host` resolves to, in the resolver's order. All of them must be allowed: a
   * name with one allowed and one denied address is refused as a whole.
   */
  async resolveAll(host: string, what: string): Promise<string[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    this.checkLiteral(bare, what);
    if (isUnixSocket(bare) || isIP(bare) !== 0) return [bare];
    // A name that does not resolve fails like any unreachable host (the caller wraps the error).
    const addresses = await new Promise<Array<{ address: string }>>((resolve, reject) =>
      dnsLookup(bare, { all: true }, (err, list) => (err ? reject(err) : resolve(list))),
    );
    const denied = addresses.find((a) => !this.allows(a.address));
    if (denied) throw new OutboundDeniedError(`${what}: ${bare} resolves to ${denied.address}, which is not an allowed address (${this.description})`);
    return addresses.map((a) => a.address);
  }

  /** A dns.lookup replacement for HTTP agents: connections go only to checked addresses. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, list) => {
      if (err) return callback(err, '', 0);
      const denied = list.find((a) => !this.allows(a.address));
      if (denied) {
        return callback(new OutboundDeniedError(`${hostname} resolves to ${denied.address}, which is not an allowed address (${this.description})`) as unknown as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, l: typeof list) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

export function isUnixSocket(host: string): boolean {
  return host.startsWith('/') || host.startsWith('@');
}

let current = new OutboundPolicy({ deny: DEFAULT_OUTBOUND_DENY });

/** Set once at start from configuration (createServices). */
export function configureOutbound(policy: OutboundPolicy): void {
  current = policy;
}

export function outboundPolicy(): OutboundPolicy {
  return current;
}

/**
 * The first of `addresses` that accepts a TCP connection on `port` (each tried for at most
 * `timeoutMs`), or the first one when none does: its connection error is then the one reported.
 * A name often resolves to ::1 and 127.0.0.1 while the server listens on one of them; libpq would
 * try each, but a pinned connection gets exactly one address.
 */
export async function firstReachable(addresses: string[], port: number, timeoutMs = 3000): Promise<string> {
  if (addresses.length < 2) return addresses[0]!;
  for (const address of addresses) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port, timeout: timeoutMs });
      const done = (result: boolean) => {
        socket.destroy();
        resolve(result);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    });
    if (ok) return address;
  }
  return addresses[0]!;
}
