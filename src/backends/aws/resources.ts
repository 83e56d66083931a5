/**
 * What every instance of a project in a region shares, created once and tagged: the key pair `dstack-<project>`
 * (the project's SSH key, the only way in) and the security group `dstack-<project>` in the default VPC, open on
 * TCP 22 only. Each is looked up first; a create that loses a race with another daemon (`…Duplicate`) uses the
 * winner's.
 */
import type { SecurityGroup, Tag } from '@aws-sdk/client-ec2';
import { UserError } from '../../core/errors.js';
import type { Ec2 } from './client.js';
import { awsCode } from './errors.js';

export interface RegionResources {
  keyName: string;
  groupId: string;
  vpcId: string;
  /** The default VPC's default subnet of each availability zone. */
  subnets: ReadonlyMap<string, string>;
}

export const resourceName = (project: string): string => `dstack-${project}`;

export function projectTags(project: string): Tag[] {
  return [
    { Key: 'Name', Value: resourceName(project) },
    { Key: 'dstack_project', Value: project },
  ];
}

export async function ensureRegionResources(ec2: Ec2, region: string, project: string, publicKey: string, signal?: AbortSignal): Promise<RegionResources> {
  const opts = { abortSignal: signal };
  const vpcs = await ec2.call(region, 'DescribeVpcs', (c, sdk) => c.send(new sdk.DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }), opts));
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  if (!vpcId) {
    throw new UserError('AWS_NO_DEFAULT_VPC', `the AWS region ${region} has no default VPC, which dstack launches instances in`, {
      hint: `Create one with \`aws ec2 create-default-vpc --region ${region}\`, or leave ${region} out of the aws backend's regions.`,
    });
  }
  const subnetList = await ec2.call(region, 'DescribeSubnets', (c, sdk) =>
    c.send(new sdk.DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'default-for-az', Values: ['true'] }] }), opts),
  );
  const subnets = new Map<string, string>();
  for (const s of subnetList.Subnets ?? []) if (s.AvailabilityZone && s.SubnetId) subnets.set(s.AvailabilityZone, s.SubnetId);
  const keyName = await ensureKeyPair(ec2, region, project, publicKey, signal);
  const groupId = await ensureSecurityGroup(ec2, region, project, vpcId, signal);
  return { keyName, groupId, vpcId, subnets };
}

async function ensureKeyPair(ec2: Ec2, region: string, project: string, publicKey: string, signal?: AbortSignal): Promise<string> {
  const name = resourceName(project);
  const opts = { abortSignal: signal };
  const found = await ec2.call(region, 'DescribeKeyPairs', (c, sdk) =>
    c.send(new sdk.DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }], IncludePublicKey: true }), opts),
  );
  const existing = found.KeyPairs?.[0];
  // A project key that changed (a new DSTACK_HOME) would lock dstack out of every new instance: replace the old one.
  if (existing && existing.PublicKey !== undefined && keyBlob(existing.PublicKey) !== keyBlob(publicKey)) {
    await ec2.call(region, 'DeleteKeyPair', (c, sdk) => c.send(new sdk.DeleteKeyPairCommand({ KeyName: name }), opts));
  } else if (existing) {
    return name;
  }
  try {
    await ec2.call(region, 'ImportKeyPair', (c, sdk) =>
      c.send(
        new sdk.ImportKeyPairCommand({
          KeyName: name,
          PublicKeyMaterial: Buffer.from(publicKey.trim()),
          TagSpecifications: [{ ResourceType: 'key-pair', Tags: projectTags(project) }],
        }),
        opts,
      ),
    );
  } catch (e) {
    if (awsCode(e) !== 'InvalidKeyPair.Duplicate') throw e;
  }
  return name;
}

/** The base64 part of an OpenSSH public key line: comments and whitespace differ between what we send and EC2 keeps. */
const keyBlob = (line: string): string => line.trim().split(/\s+/)[1] ?? line.trim();

async function ensureSecurityGroup(ec2: Ec2, region: string, project: string, vpcId: string, signal?: AbortSignal): Promise<string> {
  const name = resourceName(project);
  const opts = { abortSignal: signal };
  const find = async (): Promise<SecurityGroup | undefined> => {
    const out = await ec2.call(region, 'DescribeSecurityGroups', (c, sdk) =>
      c.send(new sdk.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpcId] }] }), opts),
    );
    return out.SecurityGroups?.[0];
  };
  let group = await find();
  if (!group) {
    try {
      const created = await ec2.call(region, 'CreateSecurityGroup', (c, sdk) =>
        c.send(
          new sdk.CreateSecurityGroupCommand({
            GroupName: name,
            Description: `dstack project ${project}: SSH only`,
            VpcId: vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: projectTags(project) }],
          }),
          opts,
        ),
      );
      group = { GroupId: created.GroupId, IpPermissions: [] };
    } catch (e) {
      if (awsCode(e) !== 'InvalidGroup.Duplicate') throw e;
      group = await find();
    }
  }
  const groupId = group?.GroupId;
  if (!groupId) throw new UserError('AWS_SECURITY_GROUP', `the security group ${name} in ${region} could neither be found nor created`);
  if (!allowsSsh(group)) {
    try {
      await ec2.call(region, 'AuthorizeSecurityGroupIngress', (c, sdk) =>
        c.send(
          new sdk.AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'dstack: SSH' }] }],
          }),
          opts,
        ),
      );
    } catch (e) {
      if (awsCode(e) !== 'InvalidPermission.Duplicate') throw e;
    }
  }
  return groupId;
}

function allowsSsh(group: SecurityGroup | undefined): boolean {
  return (group?.IpPermissions ?? []).some(
    (p) => p.IpProtocol === 'tcp' && p.FromPort === 22 && p.ToPort === 22 && (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0'),
  );
}
