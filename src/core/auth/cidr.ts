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
