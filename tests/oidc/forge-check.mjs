// Signs a token with each checked-in PEM (the way a Rust test "forges" one with jsonwebtoken)
// and verifies it against the running provider's /jwks. Usage: node forge-check.mjs ISSUER
// (`jose` is a dependency of oidc-provider, installed by npm ci.)
import { SignJWT, importPKCS8, createRemoteJWKSet, jwtVerify } from 'jose';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const issuer = (process.argv[2] ?? '').replace(/\/$/, '');
if (!issuer) { console.error('usage: node forge-check.mjs ISSUER'); process.exit(2); }
const JWKS = createRemoteJWKSet(new URL(`${issuer}/jwks`));
for (const [file, alg, kid] of [['rsa.pem', 'RS256', 'test-rs256'], ['ec.pem', 'ES256', 'test-es256'], ['ed25519.pem', 'EdDSA', 'test-eddsa']]) {
  const key = await importPKCS8(readFileSync(join(here, file), 'utf8'), alg);
  const jwt = await new SignJWT({ preferred_username: 'mallory' })
    .setProtectedHeader({ alg, kid }).setIssuer(issuer).setAudience('agent-audit')
    .setIssuedAt().setExpirationTime('5m').sign(key);
  const { payload, protectedHeader } = await jwtVerify(jwt, JWKS, { issuer, audience: 'agent-audit' });
  console.log(`${file}: forged token verifies against /jwks (alg=${protectedHeader.alg} kid=${protectedHeader.kid} preferred_username=${payload.preferred_username})`);
}
