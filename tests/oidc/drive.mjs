// Drives the whole browser authorization-code flow (PKCE S256) against a running provider.mjs,
// with plain fetch, `redirect: 'manual'` and a hand-written cookie jar: no browser.
// It documents, request by request, what the Rust tests repeat with reqwest.
//
//   node drive.mjs ISSUER [REDIRECT_URI] [LOGIN]
//   e.g. node drive.mjs http://127.0.0.1:44027 http://127.0.0.1:9999/auth/callback alice
//
// Env overrides: CLIENT_ID (agent-audit), CLIENT_SECRET (s3cret),
//                CC_CLIENT_ID (alice-script), CC_CLIENT_SECRET (x), RESOURCE (agent-audit),
//                EXPECT_USERNAME (default LOGIN; set to '' to expect NO preferred_username),
//                EXPECT_ERROR (e.g. access_denied: expect that error on the callback, exit 0).
// Nothing listens on REDIRECT_URI: the final redirect is only read, never followed.
// Exit code 0 = every check passed.

import { createHash, randomBytes } from 'node:crypto';

const issuer = (process.argv[2] ?? '').replace(/\/$/, '');
if (!issuer) {
  console.error('usage: node drive.mjs ISSUER [REDIRECT_URI] [LOGIN]');
  process.exit(2);
}
const redirectUri = process.argv[3] ?? 'http://127.0.0.1:9999/auth/callback';
const login = process.argv[4] ?? 'alice';
const clientId = process.env.CLIENT_ID ?? 'agent-audit';
const clientSecret = process.env.CLIENT_SECRET ?? 's3cret';
const ccClientId = process.env.CC_CLIENT_ID ?? 'alice-script';
const ccClientSecret = process.env.CC_CLIENT_SECRET ?? 'x';
const resource = process.env.RESOURCE ?? 'agent-audit';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodeJwt = (jwt) => {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(p, 'base64url').toString()),
  };
};
const basic = (id, secret) => `Basic ${Buffer.from(
  `${encodeURIComponent(id)}:${encodeURIComponent(secret)}`,
).toString('base64')}`;
function check(cond, msg) {
  if (!cond) { console.error(`FAIL: ${msg}`); process.exit(1); }
  console.log(`ok: ${msg}`);
}

// ---- minimal cookie jar (name+path -> value); honours Path, ignores Domain (all 127.0.0.1) ----
const jar = new Map();
function storeCookies(res) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = false;
    for (const a of attrs) {
      const [k, v] = a.split('=');
      if (k.toLowerCase() === 'path') path = v;
      if (k.toLowerCase() === 'expires' && new Date(v) < new Date()) expired = true;
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
    }
    const key = `${name}\u0000${path}`;
    if (expired || value === '') jar.delete(key); else jar.set(key, { name, value, path });
    console.log(`     set-cookie: ${line}`);
  }
}
function cookieHeader(url) {
  const { pathname } = new URL(url);
  const out = [];
  for (const { name, value, path } of jar.values()) {
    if (pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`) || path === '/') {
      out.push(`${name}=${value}`);
    }
  }
  return out.join('; ');
}
let step = 0;
async function request(method, url, { body, headers = {}, cookies = true } = {}) {
  const cookie = cookies ? cookieHeader(url) : '';
  step += 1;
  console.log(`\n[${step}] ${method} ${url}`);
  if (cookie) console.log(`     cookie: ${cookie.split('; ').map((c) => c.split('=')[0]).join(', ')}`);
  if (body) console.log(`     body: ${body}`);
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: { ...headers, ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body,
  });
  console.log(`     -> ${res.status}${res.headers.get('location') ? ` location: ${res.headers.get('location')}` : ''}`);
  storeCookies(res);
  return res;
}

// ---- 0. discovery ----
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
console.log(`discovery: authorization_endpoint=${discovery.authorization_endpoint} token_endpoint=${discovery.token_endpoint} jwks_uri=${discovery.jwks_uri}`);

// ---- 1. authorization request ----
const state = b64url(randomBytes(16));
const nonce = b64url(randomBytes(16));
const codeVerifier = b64url(randomBytes(32));
const codeChallenge = b64url(createHash('sha256').update(codeVerifier).digest());
const authUrl = new URL(discovery.authorization_endpoint);
authUrl.search = new URLSearchParams({
  client_id: clientId,
  redirect_uri: redirectUri,
  response_type: 'code',
  scope: 'openid profile',
  state,
  nonce,
  code_challenge: codeChallenge,
  code_challenge_method: 'S256',
}).toString();

let res = await request('GET', authUrl.href);
let location;
let loginPosted = false;
// follow redirects; on the login page POST the form; stop at the redirect to redirect_uri
for (let i = 0; i < 10; i += 1) {
  if (res.status >= 300 && res.status < 400) {
    location = new URL(res.headers.get('location'), issuer).href;
    if (location.startsWith(redirectUri)) break;
    res = await request('GET', location);
    continue;
  }
  if (res.status === 200 && !loginPosted) {
    const html = await res.text();
    const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
    check(action && html.includes('name="prompt" value="login"'), 'interaction page is the login form');
    const submit = new URL(action.replace(/&amp;/g, '&'), issuer).href;
    res = await request('POST', submit, {
      body: new URLSearchParams({ prompt: 'login', login, password: 'anything' }).toString(),
    });
    loginPosted = true;
    continue;
  }
  console.error(`unexpected response ${res.status}: ${(await res.text()).slice(0, 500)}`);
  process.exit(1);
}

const cb = new URL(location);
console.log(`\ncallback params: ${JSON.stringify(Object.fromEntries(cb.searchParams))}`);
if (process.env.EXPECT_ERROR) {
  check(cb.searchParams.get('error') === process.env.EXPECT_ERROR, `callback carries error=${process.env.EXPECT_ERROR}`);
  check(cb.searchParams.get('state') === state, 'state came back unchanged');
  console.log('\nALL OK (expected error)');
  process.exit(0);
}
if (cb.searchParams.get('error')) {
  console.error(`FAIL: authorization error ${cb.searchParams.get('error')}: ${cb.searchParams.get('error_description')}`);
  process.exit(1);
}
check(cb.searchParams.get('state') === state, 'state came back unchanged');
const code = cb.searchParams.get('code');
check(code, 'got an authorization code');

// ---- 2. code exchange ----
const tokenBody = new URLSearchParams({
  grant_type: 'authorization_code',
  code,
  redirect_uri: redirectUri,
  code_verifier: codeVerifier,
}).toString();
res = await request('POST', discovery.token_endpoint, {
  body: tokenBody,
  headers: { authorization: basic(clientId, clientSecret) },
  cookies: false, // back-channel call: no browser cookies
});
const tokens = await res.json();
check(res.status === 200, `token endpoint 200 (${JSON.stringify(Object.keys(tokens))})`);
const idt = decodeJwt(tokens.id_token);
console.log(`\nID token header: ${JSON.stringify(idt.header)}`);
console.log(`ID token claims: ${JSON.stringify(idt.claims, null, 2)}`);
const expectUser = process.env.EXPECT_USERNAME ?? login;
if (expectUser) check(idt.claims.preferred_username === expectUser, `id_token preferred_username=${expectUser}`);
else check(!('preferred_username' in idt.claims), 'id_token has no preferred_username');
check(idt.claims.nonce === nonce, 'id_token nonce matches');
check(idt.claims.iss === issuer && idt.claims.aud === clientId, 'id_token iss/aud');
const at = decodeJwt(tokens.access_token);
console.log(`\naccess token (code flow) header: ${JSON.stringify(at.header)}`);
console.log(`access token (code flow) claims: ${JSON.stringify(at.claims, null, 2)}`);
check(at.claims.aud === resource, `access_token aud=${resource}`);

// ---- 2b. the code is single use ----
res = await request('POST', discovery.token_endpoint, {
  body: tokenBody,
  headers: { authorization: basic(clientId, clientSecret) },
  cookies: false,
});
const reuse = await res.json();
console.log(`     ${JSON.stringify(reuse)}`);
check(res.status === 400 && reuse.error === 'invalid_grant', 'second use of the code -> 400 invalid_grant');

// ---- 2c. SSO: same cookie jar (now holding _session), new authorize -> straight to redirect_uri ----
const again = new URL(authUrl);
again.searchParams.set('state', `${state}-2`);
res = await request('GET', again.href);
const sso = new URL(res.headers.get('location') ?? '', issuer);
check(res.status === 303 && sso.href.startsWith(redirectUri) && sso.searchParams.get('code'),
  'with a _session cookie the next /auth skips the login form (use a fresh jar to get the form)');

// ---- 3. client_credentials ----
res = await request('POST', discovery.token_endpoint, {
  body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
  headers: { authorization: basic(ccClientId, ccClientSecret) },
  cookies: false,
});
const cc = await res.json();
check(res.status === 200, 'client_credentials 200');
const cct = decodeJwt(cc.access_token);
console.log(`\nclient_credentials token header: ${JSON.stringify(cct.header)}`);
console.log(`client_credentials token claims: ${JSON.stringify(cct.claims, null, 2)}`);
check(cct.claims.aud === resource && cct.claims.iss === issuer && cct.claims.exp, 'cc token iss/aud/exp');
console.log('\nALL OK');
