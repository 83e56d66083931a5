// EC2's XML shapes the front writes or rewrites (EC2 Query API, version 2016-11-15): errors, the FAKE capacity
// reservations moto lacks, and instance addresses.

/**
 * Where an instance points when the front's host pool is used up: inside the test network, but no host has it and
 * the connect guard refuses it, so a test that tries to reach such an instance fails loudly instead of reaching out.
 */
export const UNASSIGNED_ADDRESS = '10.77.0.254';

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** EC2's error body (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html#api-error-response). */
export function ec2ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escape(code)}</Code><Message>${escape(message)}</Message></Error></Errors><RequestID>ec2-front-${Date.now()}</RequestID></Response>`;
}

export interface CapacityReservation {
  id: string;
  region: string;
  zone: string;
  instanceType: string;
  /** Instances it can still take. */
  available: number;
  state?: 'active' | 'expired' | 'cancelled' | 'pending' | 'failed';
}

/** FAKE DescribeCapacityReservations (moto 5.2 has no capacity reservations): [status, body]. */
export function capacityReservationsXml(all: readonly CapacityReservation[], region: string, params: Record<string, string>): [number, string] {
  const wanted = Object.entries(params)
    .filter(([k]) => /^CapacityReservationId\.\d+$/.test(k))
    .map(([, v]) => v);
  const inRegion = all.filter((r) => r.region === region);
  const missing = wanted.find((id) => !inRegion.some((r) => r.id === id));
  if (missing) return [400, ec2ErrorXml('InvalidCapacityReservationId.NotFound', `The capacity reservation ID '${missing}' does not exist`)];
  const items = inRegion
    .filter((r) => wanted.length === 0 || wanted.includes(r.id))
    .map(
      (r) =>
        `<item><capacityReservationId>${r.id}</capacityReservationId><ownerId>123456789012</ownerId>` +
        `<capacityReservationArn>arn:aws:ec2:${r.region}:123456789012:capacity-reservation/${r.id}</capacityReservationArn>` +
        `<instanceType>${r.instanceType}</instanceType><instancePlatform>Linux/UNIX</instancePlatform>` +
        `<availabilityZone>${r.zone}</availabilityZone><tenancy>default</tenancy><totalInstanceCount>${Math.max(r.available, 1)}</totalInstanceCount>` +
        `<availableInstanceCount>${r.available}</availableInstanceCount><state>${r.state ?? 'active'}</state>` +
        `<instanceMatchCriteria>targeted</instanceMatchCriteria><endDateType>unlimited</endDateType></item>`,
    )
    .join('');
  return [200, `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeCapacityReservationsResponse xmlns="${NS}"><requestId>ec2-front</requestId><capacityReservationSet>${items}</capacityReservationSet></DescribeCapacityReservationsResponse>`];
}

const ADDRESS_TAGS = ['ipAddress', 'privateIpAddress', 'publicIp', 'dnsName', 'privateDnsName', 'publicDnsName'];
const ADDRESS_RE = new RegExp(`<(${ADDRESS_TAGS.join('|')})>[^<]+</\\1>`, 'g');

/**
 * Every address in a response, rewritten: inside each instance of an `instancesSet`, to the host `hostOf` gives for
 * its id; everywhere else (and for instances without a host) to UNASSIGNED_ADDRESS. DNS names become the address
 * too: a name would send the product to a resolver outside the test network.
 */
export function rewriteAddresses(xml: string, hostOf: (instanceId: string) => string | undefined): string {
  const toHosts = mapInstanceItems(xml, (item) => {
    const id = /<instanceId>(i-[0-9a-z]+)<\/instanceId>/.exec(item)?.[1];
    const ip = (id && hostOf(id)) ?? UNASSIGNED_ADDRESS;
    return item.replace(ADDRESS_RE, (_m, tag: string) => `<${tag}>${ip}</${tag}>`);
  });
  // What is left outside instances (an address listing, say) points at no host.
  return toHosts.replace(ADDRESS_RE, (m: string, tag: string) => (m.includes('10.77.0.') ? m : `<${tag}>${UNASSIGNED_ADDRESS}</${tag}>`));
}

/** The state reason of instance `instanceId` in a DescribeInstances response, replaced (a spot interruption). */
export function rewriteStateReason(xml: string, instanceId: string, code: string, message: string): string {
  return mapInstanceItems(xml, (item) =>
    item.includes(`<instanceId>${instanceId}</instanceId>`)
      ? item.replace(/<stateReason>[\s\S]*?<\/stateReason>|<stateReason\/>/, `<stateReason><code>${code}</code><message>${message}</message></stateReason>`)
      : item,
  );
}

function mapInstanceItems(xml: string, map: (item: string) => string): string {
  let out = '';
  let rest = xml;
  for (;;) {
    const start = rest.indexOf('<instancesSet>');
    const end = start < 0 ? -1 : rest.indexOf('</instancesSet>', start);
    if (end < 0) return out + rest;
    out += rest.slice(0, start + '<instancesSet>'.length) + instanceItems(rest.slice(start + '<instancesSet>'.length, end)).map(map).join('');
    rest = rest.slice(end);
  }
}

/** The top-level `<item>…</item>` elements of a set (nested items stay inside their parent). */
function instanceItems(set: string): string[] {
  const items: string[] = [];
  const re = /<item>|<\/item>/g;
  let depth = 0;
  let from = 0;
  for (let m = re.exec(set); m; m = re.exec(set)) {
    if (m[0] === '<item>') {
      if (depth === 0) from = m.index;
      depth++;
    } else if (--depth === 0) {
      items.push(set.slice(from, m.index + m[0].length));
    }
  }
  return items.length > 0 ? items : [set];
}
