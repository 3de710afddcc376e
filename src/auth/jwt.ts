// JWT verification (jose) for the API, and development tokens.
//
// Every verifier has an explicit algorithm allowlist tied to its key source, so the token's
// own `alg` header never chooses how it is checked: HS256 only with the shared development
// secret, RS256/ES256 only with a JWKS. This closes the classic confusions (`alg: none`,
// an HS256 token "signed" with a public key). Issuer, audience, exp and nbf are always
// checked; exp and sub are required, so a token that never expires is not accepted.
import { readFileSync } from 'node:fs';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWSAlgorithm, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export type JwtVerifierConfig = (
  | { kind: 'hs256'; secret: string }
  | { kind: 'jwks-url'; url: string }
  | { kind: 'jwks-file'; path: string }
) & {
  issuer: string;
  audience: string;
  /** Allowed clock skew for exp/nbf/iat. Default 30 seconds. */
  clockToleranceSeconds?: number;
};

export interface VerifiedToken {
  sub: string;
  /** From the `org` claim (an organization id or slug), when present. */
  orgId?: string;
  claims: JWTPayload;
}

export type JwtVerifier = (token: string) => Promise<VerifiedToken>;

export type AuthErrorCode =
  | 'TOKEN_MALFORMED' // not a compact JWS with JSON header and claims
  | 'TOKEN_INVALID' // signature does not verify
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'ALGORITHM_NOT_ALLOWED'
  | 'CLAIM_INVALID' // wrong issuer/audience, missing or ill-typed claim
  | 'KEY_NOT_FOUND' // no key in the JWKS matches the token's kid/alg
  | 'KEYS_UNAVAILABLE'; // the JWKS could not be fetched or parsed

/**
 * A rejected token. The message is fixed per code (plus at most a claim name), never the
 * token or its claim values, because it reaches clients and logs. No jose error is kept
 * as `cause`: jose claim errors carry the decoded payload.
 */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    /** Name of the offending claim for CLAIM_INVALID / TOKEN_EXPIRED / TOKEN_NOT_YET_VALID. */
    readonly claim?: string,
  ) {
    super(message);
  }
}

const HS256_ALGORITHMS: JWSAlgorithm[] = ['HS256'];
const JWKS_ALGORITHMS: JWSAlgorithm[] = ['RS256', 'ES256'];
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Far above any real token; refuses to spend effort on megabytes of garbage. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
const MIN_HS256_SECRET_BYTES = 32;

function hs256Key(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.length < MIN_HS256_SECRET_BYTES) throw new RangeError(`The HS256 secret must be at least ${MIN_HS256_SECRET_BYTES} bytes`);
  return key;
}

function loadJwksFile(path: string): JSONWebKeySet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the JWKS file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as JSONWebKeySet;
  } catch {
    throw new Error(`The JWKS file ${path} is not valid JSON`);
  }
}

function jwksUrl(url: string): URL {
  const parsed = new URL(url);
  // Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is
  // allowed for development and tests.
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new Error(`The JWKS URL must use https (plain http is allowed only for localhost): ${parsed.origin}`);
  }
  return parsed;
}

/**
 * Builds the verifier once at start. Key material is prepared eagerly (the JWKS file is
 * read and parsed now) so a misconfiguration stops the process instead of failing every
 * request; a JWKS URL is fetched on first use and cached by jose (refetched for an
 * unknown kid, with a cooldown).
 */
export function createJwtVerifier(config: JwtVerifierConfig): JwtVerifier {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: JWSAlgorithm[];
  switch (config.kind) {
    case 'hs256':
      key = hs256Key(config.secret);
      algorithms = HS256_ALGORITHMS;
      break;
    case 'jwks-file':
      key = createLocalJWKSet(loadJwksFile(config.path));
      algorithms = JWKS_ALGORITHMS;
      break;
    case 'jwks-url':
      key = createRemoteJWKSet(jwksUrl(config.url));
      algorithms = JWKS_ALGORITHMS;
      break;
  }
  const options = {
    algorithms,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp', 'sub'],
  };
  const remote = config.kind === 'jwks-url';

  return async (token: string) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new AuthError('TOKEN_MALFORMED', 'The token is not a well-formed JWT');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, options));
    } catch (err) {
      throw toAuthError(err, remote);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
      throw new AuthError('CLAIM_INVALID', 'The token has an invalid "sub" claim', 'sub');
    }
    const org = payload.org;
    if (org !== undefined && (typeof org !== 'string' || org.length === 0)) {
      throw new AuthError('CLAIM_INVALID', 'The token has an invalid "org" claim', 'org');
    }
    return { sub: payload.sub, orgId: org, claims: payload };
  };
}

function toAuthError(err: unknown, remote: boolean): AuthError {
  if (err instanceof errors.JWTExpired) return new AuthError('TOKEN_EXPIRED', 'The token has expired', 'exp');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new AuthError('TOKEN_NOT_YET_VALID', 'The token is not valid yet', 'nbf');
    const what = err.reason === 'missing' ? 'is missing the' : 'has an unexpected';
    return new AuthError('CLAIM_INVALID', `The token ${what} "${err.claim}" claim`, err.claim);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new AuthError('ALGORITHM_NOT_ALLOWED', 'The token is signed with an algorithm this server does not accept');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthError('TOKEN_INVALID', 'The token signature is invalid');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthError('KEY_NOT_FOUND', 'No unique signing key matches the token');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JWKInvalid) {
    return new AuthError('TOKEN_MALFORMED', 'The token is not a well-formed JWT');
  }
  // What is left comes from fetching the key set (timeout, non-200, bad JSON, network).
  if (remote) return new AuthError('KEYS_UNAVAILABLE', 'The signing keys could not be loaded; try again later');
  return new AuthError('TOKEN_INVALID', 'The token could not be verified');
}

export interface DevTokenInput {
  secret: string;
  issuer: string;
  audience: string;
  sub: string;
  /** Organization id or slug, carried in the `org` claim. */
  org?: string;
  /** A jose time span ("12h", "30 min") or a number of seconds from now. */
  expiresIn: string | number;
}

/** Signs an HS256 token that {@link createJwtVerifier} with the same secret accepts. */
export async function signDevToken(input: DevTokenInput): Promise<string> {
  const claims: JWTPayload = input.org === undefined ? {} : { org: input.org };
  const nowSeconds = Math.floor(Date.now() / 1000);
  // jose reads a number as an absolute timestamp; this API means "seconds from now".
  const exp = typeof input.expiresIn === 'number' ? nowSeconds + input.expiresIn : input.expiresIn;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setSubject(input.sub)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(hs256Key(input.secret));
}
