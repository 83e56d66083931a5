import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { OfferUnavailableError } from '../compute.js';
import { AwsApiError, awsCode, mapEc2Error, redact } from './errors.js';

const source = { description: 'config.yml projects[main].backends[0].creds', secrets: ['AKIAEXAMPLE0001', 'sekrit-value-123'] };
const ctx = { action: 'RunInstances', region: 'us-east-1', source, endpoint: undefined };

function ec2Error(code: string, message = `${code} happened`, status = 400): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

describe('mapEc2Error', () => {
  it.each([
    ['InsufficientInstanceCapacity', 'no_capacity'],
    ['VcpuLimitExceeded', 'no_quota'],
    ['MaxSpotInstanceCountExceeded', 'no_quota'],
    ['SpotMaxPriceTooLow', 'price'],
    ['Unsupported', 'unsupported'],
  ] as const)('%s → OfferUnavailableError(%s) keeping the code', (code, kind) => {
    const mapped = mapEc2Error(ec2Error(code), ctx);
    expect(mapped).toBeInstanceOf(OfferUnavailableError);
    expect(mapped).toMatchObject({ kind, providerCode: code });
    expect(awsCode(mapped)).toBe(code);
  });

  it('refused credentials → UserError naming the source, without AWS text or the secret', () => {
    const mapped = mapEc2Error(ec2Error('AuthFailure', 'signature by AKIAEXAMPLE0001 sekrit-value-123 does not match'), ctx);
    expect(mapped).toBeInstanceOf(UserError);
    expect(mapped.message).toBe('AWS rejected the credentials from config.yml projects[main].backends[0].creds (AuthFailure): they are invalid or expired');
  });

  it('a missing permission names the action; other codes stay internal with the code kept and secrets redacted', () => {
    expect(mapEc2Error(ec2Error('UnauthorizedOperation'), ctx)).toMatchObject({ code: 'AWS_PERMISSION_DENIED' });
    const other = mapEc2Error(ec2Error('InvalidParameterValue', 'value sekrit-value-123 is bad'), ctx);
    expect(other).toBeInstanceOf(AwsApiError);
    expect(other).toMatchObject({ awsCode: 'InvalidParameterValue' });
    expect(other.message).toBe('EC2 RunInstances in us-east-1 failed: InvalidParameterValue: value *** is bad');
  });

  it('no credentials at all, a transport failure, and aborts are told apart from EC2 answers', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(mapEc2Error(missing, ctx)).toMatchObject({ code: 'AWS_CREDENTIALS_MISSING' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', $metadata: { attempts: 2 } });
    expect(mapEc2Error(refused, { ...ctx, endpoint: 'http://127.0.0.1:1' })).toMatchObject({ code: 'AWS_UNREACHABLE', message: 'EC2 RunInstances could not reach http://127.0.0.1:1: ECONNREFUSED' });
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(mapEc2Error(abort, ctx)).toBe(abort);
  });

  it('redacts every secret of four characters or more', () => {
    expect(redact('a AKIAEXAMPLE0001 b sekrit-value-123 c', source.secrets)).toBe('a *** b *** c');
    expect(redact('abc', ['ab'])).toBe('abc');
  });
});
