// Credentials the fake accepts. A service-account key (real RSA, written as the JSON file Google's console gives
// out) lets google-auth-library run its own code paths against the fake:
//  - a self-signed JWT as the bearer (JWTAccess: a JWT client with `jwt.useJWTAccessWithScope = true` set as a
//    property — the constructor ignores it — and email + key loaded; no network call),
//    verified with the public key, as Google does;
//  - the OAuth JWT-bearer grant at POST /token (token_uri points there). Caution: gtoken 8 posts to the hard-coded
//    https://oauth2.googleapis.com/token whatever token_uri says, and that is what the Compute client does with a
//    plain `keyFilename` (REST transport → scoped JWT → gtoken), so a client reaches this only when its
//    transport is pointed here.
// A static token covers tests that hand the client an OAuth2Client with setCredentials.
import { createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface ServiceAccount {
  clientEmail: string;
  credentialsFile: string;
  staticToken: string;
  dispose(): void;
}

/** static: the fixed token; oauth: from POST /token; self-signed-jwt: signed by the key itself. */
export type BearerKind = 'static' | 'oauth' | 'self-signed-jwt' | 'none' | 'rejected';

interface Claims {
  iss?: string;
  aud?: string;
  scope?: string;
  iat?: number;
  exp?: number;
}

export class FakeAuth {
  readonly account: ServiceAccount;
  private readonly publicKey: KeyObject;
  /** Access token → the time (ms) it was issued. */
  private readonly issued = new Map<string, number>();
  private expiredBefore = 0;

  constructor(project: string, tokenUri: string) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = publicKey;
    const dir = mkdtempSync(join(tmpdir(), 'gcp-fake-'));
    const clientEmail = `dstack-test@${project}.iam.gserviceaccount.com`;
    const credentialsFile = join(dir, 'service-account.json');
    const key = {
      type: 'service_account',
      project_id: project,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: String(100000000000000000000n + BigInt(randomBytes(4).readUInt32BE())),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
      universe_domain: 'googleapis.com',
    };
    writeFileSync(credentialsFile, JSON.stringify(key, null, 2), { mode: 0o600 });
    const staticToken = `ya29.gcp-fake-${randomBytes(12).toString('hex')}`;
    this.issued.set(staticToken, Date.now());
    this.account = { clientEmail, credentialsFile, staticToken, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  }

  /** Every token and self-signed JWT issued until now stops working; ones issued later work. */
  expireTokens(): void {
    this.expiredBefore = Date.now() + 1;
  }

  /** Which kind of bearer `Authorization` carries, or `rejected` for one Google would refuse. */
  check(authorization: string | undefined): BearerKind {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return 'none';
    const issuedAt = this.issued.get(token);
    if (issuedAt !== undefined) return issuedAt < this.expiredBefore ? 'rejected' : token === this.account.staticToken ? 'static' : 'oauth';
    const claims = this.verifyJwt(token);
    // JWTAccess signs with iss = sub = client_email and either aud (the API's URL) or scope (useJWTAccessWithScope).
    if (!claims || claims.iss !== this.account.clientEmail || (!claims.aud && !claims.scope)) return 'rejected';
    const fresh = claims.exp !== undefined && claims.exp > Date.now() / 1000 && (claims.iat ?? 0) * 1000 >= this.expiredBefore;
    return fresh ? 'self-signed-jwt' : 'rejected';
  }

  /** The OAuth token endpoint: a JWT-bearer grant signed by the key → an access token (RFC 7523). */
  grant(form: URLSearchParams, tokenUri: string): { status: number; body: unknown } {
    if (form.get('grant_type') !== JWT_BEARER) return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type.' } };
    const claims = this.verifyJwt(form.get('assertion') ?? '');
    if (!claims) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
    if (claims.iss !== this.account.clientEmail) return { status: 401, body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' } };
    if (claims.aud !== tokenUri && claims.aud !== GOOGLE_TOKEN_URL) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.' } };
    if (claims.exp === undefined || claims.exp * 1000 < Date.now()) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.' } };
    const accessToken = `ya29.gcp-fake-${randomBytes(16).toString('hex')}`;
    this.issued.set(accessToken, Date.now());
    return { status: 200, body: { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' } };
  }

  /** The claims of an RS256 JWT signed by the service account's key; undefined for anything else. */
  private verifyJwt(jwt: string): Claims | undefined {
    const parts = jwt.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    try {
      const alg = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string }).alg;
      if (alg !== 'RS256') return undefined;
      const ok = createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(this.publicKey, Buffer.from(signature, 'base64url'));
      return ok ? (JSON.parse(Buffer.from(payload, 'base64url').toString()) as Claims) : undefined;
    } catch {
      return undefined;
    }
  }
}
