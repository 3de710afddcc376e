import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, createJwtVerifier, signDevToken, type AuthErrorCode, type JwtVerifier } from '../../src/auth/jwt';

const SECRET = 'dev-secret-of-at-least-thirty-two-bytes-0123456789';
const ISSUER = 'keepsake';
const AUDIENCE = 'keepsake-api';
const USER = '0190a5f4-7b1e-7c3a-8d2e-0123456789ab';
const ORG = '0190a5f4-7b1e-7c3a-8d2e-ba9876543210';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function hsToken(claims: JWTPayload, opts: { secret?: string; iss?: string; aud?: string; exp?: number | null; nbf?: number } = {}) {
  const jwt = new SignJWT({ org: ORG, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setSubject(USER)
    .setIssuedAt();
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? now() + 3600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

/** Hand-made HS256 JWT: header and payload exactly as given, signed with `secret`. */
function handSigned(header: object, payload: object, secret: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function rejection(verify: JwtVerifier, token: string): Promise<AuthError> {
  const err = await verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  return err as AuthError;
}

async function expectRejected(verify: JwtVerifier, token: string, code: AuthErrorCode): Promise<AuthError> {
  const err = await rejection(verify, token);
  expect(err.code).toBe(code);
  // Nothing of the token reaches the message: no segment, no subject, no org.
  for (const part of [...token.split('.').filter((p) => p.length > 8), USER, ORG]) expect(err.message).not.toContain(part);
  return err;
}

describe('HS256 verifier (development)', () => {
  const verify = createJwtVerifier({ kind: 'hs256', secret: SECRET, issuer: ISSUER, audience: AUDIENCE });
  const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as JWTPayload;

  it('accepts a valid token and returns sub, org and the claims', async () => {
    const token = await hsToken({ role: 'x' });
    const result = await verify(token);
    expect(result.sub).toBe(USER);
    expect(result.orgId).toBe(ORG);
    expect(result.claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: USER, org: ORG, role: 'x' });
  });

  it('accepts a token without an org claim (orgId undefined)', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(USER).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    const result = await verify(token);
    expect(result.orgId).toBeUndefined();
  });

  it('round-trips signDevToken (string and numeric lifetimes)', async () => {
    const a = await signDevToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, sub: USER, org: 'demo', expiresIn: '12h' });
    expect(await verify(a)).toMatchObject({ sub: USER, orgId: 'demo' });
    expect(payloadOf(a).exp! - payloadOf(a).iat!).toBe(12 * 3600);
    const b = await signDevToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, sub: USER, org: ORG, expiresIn: 600 });
    expect(payloadOf(b).exp! - payloadOf(b).iat!).toBe(600);
    expect((await verify(b)).orgId).toBe(ORG);
  });

  it('rejects alg "none" (unsigned token made by hand)', async () => {
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: USER, org: ORG, exp: now() + 3600 };
    for (const alg of ['none', 'None', 'NONE']) {
      await expectRejected(verify, `${b64({ alg, typ: 'JWT' })}.${b64(payload)}.`, 'ALGORITHM_NOT_ALLOWED');
    }
    // The same claims with an empty signature but an HS256 header fail the signature check.
    await expectRejected(verify, `${b64({ alg: 'HS256' })}.${b64(payload)}.`, 'TOKEN_INVALID');
  });

  it('rejects a token signed with another key', async () => {
    await expectRejected(verify, await hsToken({}, { secret: 'another-secret-of-at-least-thirty-two-bytes!!' }), 'TOKEN_INVALID');
  });

  it('rejects an expired token, with and beyond the clock tolerance', async () => {
    const err = await expectRejected(verify, await hsToken({}, { exp: now() - 3600 }), 'TOKEN_EXPIRED');
    expect(err.claim).toBe('exp');
    // 10 s late is inside the default 30 s tolerance, but not inside a zero tolerance.
    const slightlyLate = await hsToken({}, { exp: now() - 10 });
    await expect(verify(slightlyLate)).resolves.toMatchObject({ sub: USER });
    const strict = createJwtVerifier({ kind: 'hs256', secret: SECRET, issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 0 });
    await expectRejected(strict, slightlyLate, 'TOKEN_EXPIRED');
  });

  it('rejects a token that is not valid yet', async () => {
    const err = await expectRejected(verify, await hsToken({}, { nbf: now() + 3600 }), 'TOKEN_NOT_YET_VALID');
    expect(err.claim).toBe('nbf');
  });

  it('rejects the wrong audience and the wrong issuer', async () => {
    const aud = await expectRejected(verify, await hsToken({}, { aud: 'someone-else' }), 'CLAIM_INVALID');
    expect(aud.claim).toBe('aud');
    expect(aud.message).not.toContain('someone-else');
    const iss = await expectRejected(verify, await hsToken({}, { iss: 'https://evil.example' }), 'CLAIM_INVALID');
    expect(iss.claim).toBe('iss');
  });

  it('rejects a token without exp, without sub, or with a non-string org', async () => {
    expect((await expectRejected(verify, await hsToken({}, { exp: null }), 'CLAIM_INVALID')).claim).toBe('exp');
    const noSub = handSigned({ alg: 'HS256' }, { iss: ISSUER, aud: AUDIENCE, exp: now() + 60 }, SECRET);
    expect((await expectRejected(verify, noSub, 'CLAIM_INVALID')).claim).toBe('sub');
    expect((await expectRejected(verify, await hsToken({ org: 42 }), 'CLAIM_INVALID')).claim).toBe('org');
    expect((await expectRejected(verify, await hsToken({ org: '' }), 'CLAIM_INVALID')).claim).toBe('org');
  });

  it('rejects a tampered payload (org switched, signature kept)', async () => {
    const token = await hsToken({});
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as JWTPayload;
    const forged = `${h}.${b64({ ...claims, org: 'another-org' })}.${s}`;
    await expectRejected(verify, forged, 'TOKEN_INVALID');
    // The unmodified token still verifies, so the failure above is the tampering.
    await expect(verify(token)).resolves.toMatchObject({ orgId: ORG });
  });

  it('rejects garbage as malformed', async () => {
    for (const token of ['', 'abc', 'a.b.c', 'x'.repeat(20_000)]) {
      await expectRejected(verify, token, 'TOKEN_MALFORMED');
    }
    // Correctly signed, but the payload is not JSON: malformed, not a signature failure.
    const input = `${b64({ alg: 'HS256' })}.${Buffer.from('not json').toString('base64url')}`;
    await expectRejected(verify, `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`, 'TOKEN_MALFORMED');
    // Unsigned garbage with a valid header fails on the signature first.
    await expectRejected(verify, `${input}.c2lnbmF0dXJl`, 'TOKEN_INVALID');
  });

  it('refuses secrets shorter than 32 bytes', () => {
    expect(() => createJwtVerifier({ kind: 'hs256', secret: 'short', issuer: ISSUER, audience: AUDIENCE })).toThrow(/at least 32 bytes/);
  });
});

describe('JWKS verifiers (RS256, ES256)', () => {
  let rsa: { privateKey: CryptoKey; publicJwk: JWK };
  let ec: { privateKey: CryptoKey; publicJwk: JWK };
  let stranger: CryptoKey;
  let dir: string;
  let jwksPath: string;
  let server: Server;
  let jwksUrl: string;
  let requests = 0;

  const sign = (key: CryptoKey, alg: 'RS256' | 'ES256', kid: string, claims: JWTPayload = {}) =>
    new SignJWT({ org: ORG, ...claims })
      .setProtectedHeader({ alg, kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(USER)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  beforeAll(async () => {
    const r = await generateKeyPair('RS256', { extractable: true });
    const e = await generateKeyPair('ES256', { extractable: true });
    rsa = { privateKey: r.privateKey, publicJwk: { ...(await exportJWK(r.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' } };
    ec = { privateKey: e.privateKey, publicJwk: { ...(await exportJWK(e.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' } };
    stranger = (await generateKeyPair('RS256')).privateKey;
    const jwks = JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk] });

    dir = mkdtempSync(path.join(tmpdir(), 'keepsake-jwks-'));
    jwksPath = path.join(dir, 'jwks.json');
    writeFileSync(jwksPath, jwks);

    server = createServer((req, res) => {
      requests++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const verifiers = () => ({
    file: createJwtVerifier({ kind: 'jwks-file', path: jwksPath, issuer: ISSUER, audience: AUDIENCE }),
    url: createJwtVerifier({ kind: 'jwks-url', url: jwksUrl, issuer: ISSUER, audience: AUDIENCE }),
  });

  for (const source of ['file', 'url'] as const) {
    describe(`from a JWKS ${source}`, () => {
      it('accepts RS256 and ES256 tokens', async () => {
        const verify = verifiers()[source];
        const before = requests;
        await expect(verify(await sign(rsa.privateKey, 'RS256', 'rsa-1'))).resolves.toMatchObject({ sub: USER, orgId: ORG });
        await expect(verify(await sign(ec.privateKey, 'ES256', 'ec-1'))).resolves.toMatchObject({ sub: USER, orgId: ORG });
        if (source === 'url') expect(requests).toBeGreaterThan(before); // really fetched over HTTP
      });

      it('rejects an HS256 token (algorithm confusion), whatever it was signed with', async () => {
        const verify = verifiers()[source];
        const payload = { iss: ISSUER, aud: AUDIENCE, sub: USER, org: ORG, exp: now() + 60 };
        // The classic attack: use the server's public key material as the HMAC secret.
        for (const secret of [JSON.stringify(rsa.publicJwk), rsa.publicJwk.n!, Buffer.from(rsa.publicJwk.n!, 'base64url')]) {
          await expectRejected(verify, handSigned({ alg: 'HS256', kid: 'rsa-1' }, payload, secret), 'ALGORITHM_NOT_ALLOWED');
        }
        await expectRejected(verify, await hsToken({}), 'ALGORITHM_NOT_ALLOWED');
        await expectRejected(verify, `${b64({ alg: 'none' })}.${b64(payload)}.`, 'ALGORITHM_NOT_ALLOWED');
      });

      it('rejects a token from a key that is not in the set, and a forged kid', async () => {
        const verify = verifiers()[source];
        await expectRejected(verify, await sign(stranger, 'RS256', 'unknown-kid'), 'KEY_NOT_FOUND');
        await expectRejected(verify, await sign(stranger, 'RS256', 'rsa-1'), 'TOKEN_INVALID');
      });

      it('rejects wrong audience and tampered claims', async () => {
        const verify = verifiers()[source];
        const token = await sign(ec.privateKey, 'ES256', 'ec-1');
        const [h, , s] = token.split('.');
        await expectRejected(verify, `${h}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: now() + 60 })}.${s}`, 'TOKEN_INVALID');
        const wrongAud = createJwtVerifier(source === 'file'
          ? { kind: 'jwks-file', path: jwksPath, issuer: ISSUER, audience: 'other-api' }
          : { kind: 'jwks-url', url: jwksUrl, issuer: ISSUER, audience: 'other-api' });
        await expectRejected(wrongAud, token, 'CLAIM_INVALID');
      });
    });
  }

  it('reports an unreachable key set as KEYS_UNAVAILABLE', async () => {
    const missing = createJwtVerifier({ kind: 'jwks-url', url: jwksUrl.replace('/.well-known/jwks.json', '/nope'), issuer: ISSUER, audience: AUDIENCE });
    await expectRejected(missing, await sign(rsa.privateKey, 'RS256', 'rsa-1'), 'KEYS_UNAVAILABLE');
  });

  it('refuses plain-http JWKS URLs except on loopback, and unreadable JWKS files', () => {
    expect(() => createJwtVerifier({ kind: 'jwks-url', url: 'http://idp.example/jwks.json', issuer: ISSUER, audience: AUDIENCE })).toThrow(/https/);
    expect(() => createJwtVerifier({ kind: 'jwks-url', url: 'https://idp.example/jwks.json', issuer: ISSUER, audience: AUDIENCE })).not.toThrow();
    expect(() => createJwtVerifier({ kind: 'jwks-file', path: path.join(dir, 'absent.json'), issuer: ISSUER, audience: AUDIENCE })).toThrow(/Cannot read the JWKS file/);
  });
});
