import net from 'node:net'

/** `a.b.c.d/n` (IPv4 only, as npm sends them); a bare address counts as `/32`. */
export function isIpv4Cidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/')
  if (rest.length > 0 || !address || !net.isIPv4(address)) return false
  return bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32)
}

/** Whether `address` (as a socket reports it, IPv4-mapped IPv6 included) is in one of `cidrs`. */
export function cidrAllows(cidrs: string[], address: string): boolean {
  const list = new net.BlockList()
  for (const cidr of cidrs) {
    if (!isIpv4Cidr(cidr)) continue
    const [base, bits] = cidr.split('/')
    list.addSubnet(base as string, bits === undefined ? 32 : Number(bits), 'ipv4')
  }
  const type = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null
  return type !== null && list.check(address, type)
}

/** `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `v6/n`: the forms `trust_proxy` takes. */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/')
  if (rest.length > 0 || !address) return false
  const family = net.isIP(address)
  if (family === 0) return false
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
}

/** Whether `address` is in one of `ranges` (IPv4 or IPv6, see isCidr); IPv4-mapped IPv6 addresses count as IPv4. */
export function addressIn(ranges: string[], address: string): boolean {
  const list = new net.BlockList()
  for (const range of ranges) {
    if (!isCidr(range)) continue
    const [base, bits] = range.split('/') as [string, string | undefined]
    const family = net.isIPv4(base) ? 'ipv4' : 'ipv6'
    list.addSubnet(base, bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits), family)
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  const plain = mapped ?? address
  const type = net.isIPv4(plain) ? 'ipv4' : net.isIPv6(plain) ? 'ipv6' : null
  return type !== null && list.check(plain, type)
}
