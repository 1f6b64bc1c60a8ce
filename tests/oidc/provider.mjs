// Test OpenID Connect provider for agent-audit integration tests.
//
//   node provider.mjs CONFIG.json
//
// Listens on 127.0.0.1:<config.port> (0 = any free port), issuer http://127.0.0.1:<bound port>,
// prints exactly one line `ready http://127.0.0.1:<port>` on stdout once it accepts
// connections, and runs until SIGTERM/SIGINT. All diagnostics go to stderr.
// See README.md for the config keys and the exact HTTP sequence of a login.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as querystring from 'node:querystring';

// oidc-provider prints NOTICEs with console.info (stdout). stdout is reserved for the single
// `ready` line, so route every console channel to stderr BEFORE loading the library.
for (const m of ['log', 'info', 'debug']) {
  // eslint-disable-next-line no-console
  console[m] = (...args) => console.error(...args);
}

const here = dirname(fileURLToPath(import.meta.url));

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const accounts = config.accounts ?? {};
// `resource` is the JWT access token audience (aud). RFC 8707 (and oidc-provider) require the
// resource *indicator* to be an absolute URI, so a bare name like `agent-audit` gets the
// indicator `urn:agent-audit`; requests may send either (the bare name is rewritten, see below).
const resource = config.resource ?? 'agent-audit';
const resourceIndicator = URL.parse(resource) ? resource : `urn:${resource}`;
const accessTokenTTL = config.access_token_ttl ?? 600;
const jwks = JSON.parse(readFileSync(join(here, 'keys.json'), 'utf8'));

// Normalise client metadata: a client without the authorization_code grant must not have
// the default response_types ['code'], and the test's `login` key is an extra metadata property.
const clients = (config.clients ?? []).map((c) => {
  const client = { ...c };
  const grants = client.grant_types ?? ['authorization_code'];
  if (!client.response_types && !grants.includes('authorization_code') && !grants.includes('implicit')) {
    client.response_types = [];
  }
  if (client.login === undefined) delete client.login;
  return client;
});

const { default: Provider, errors } = await import('oidc-provider');

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

function accountClaims(id) {
  return { sub: id, ...(accounts[id] ?? {}) };
}

const provider = new Provider(issuer, {
  clients,
  jwks,
  cookies: { keys: ['agent-audit-test-cookie-key-1'] },
  claims: { openid: ['sub'], profile: ['preferred_username'] },
  conformIdTokenClaims: false,
  extraClientMetadata: { properties: ['login'] },
  pkce: { required: () => true },
  ttl: {
    AccessToken: accessTokenTTL,
    ClientCredentials: accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resourceIndicator,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator) {
        if (indicator !== resourceIndicator) throw new errors.InvalidTarget();
        return {
          scope: 'openid profile',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async findAccount(ctx, id) {
    if (typeof id !== 'string' || !Object.prototype.hasOwnProperty.call(accounts, id)) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() { return accountClaims(id); },
    };
  },
  // "Skip consent": hand back (or create) a grant covering openid+profile and the resource.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    grant.addResourceScope(resourceIndicator, 'openid profile');
    await grant.save();
    return grant;
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') {
      const client = ctx.oidc.client ?? await ctx.oidc.provider.Client.find(token.clientId);
      return client?.login ? { preferred_username: client.login } : undefined;
    }
    if (token.accountId) {
      const u = accounts[token.accountId]?.preferred_username;
      return u ? { preferred_username: u } : undefined;
    }
    return undefined;
  },
});

// Request pre-processing (runs before oidc-provider's routes):
//  * `resource=<bare config.resource>` is rewritten to the URI indicator (query and form bodies);
//  * unknown account ids fail the login crisply: instead of oidc-provider's default (findAccount
//    returns undefined, so the user is sent back to a fresh login page), the interaction ends
//    with error=access_denied on the client's redirect_uri.
function rewriteResource(params) {
  let changed = false;
  const fix = (v) => {
    if (v === resource && v !== resourceIndicator) { changed = true; return resourceIndicator; }
    return v;
  };
  if (Array.isArray(params.resource)) params.resource = params.resource.map(fix);
  else if (typeof params.resource === 'string') params.resource = fix(params.resource);
  return changed;
}

provider.use(async (ctx, next) => {
  if (ctx.querystring.includes('resource=')) {
    const q = querystring.parse(ctx.querystring);
    if (rewriteResource(q)) ctx.querystring = querystring.stringify(q);
  }
  if (ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded')) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    let raw = Buffer.concat(chunks).toString('utf8');
    const body = querystring.parse(raw);
    if (/^\/interaction\/[^/]+$/.test(ctx.path) && body.prompt === 'login'
        && (typeof body.login !== 'string' || !Object.prototype.hasOwnProperty.call(accounts, body.login))) {
      ctx.respond = false;
      await provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied',
        error_description: 'unknown account',
      }, { mergeWithLastSubmission: false });
      return undefined;
    }
    if (rewriteResource(body)) raw = querystring.stringify(body);
    // hand the already-read body to oidc-provider's parser (it falls back to req.body)
    ctx.req.body = raw;
  }
  return next();
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));

server.on('request', provider.callback());

function shutdown() {
  // state is in memory only, nothing to flush: drop connections and exit at once
  server.closeAllConnections?.();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

process.stdout.write(`ready ${issuer}\n`);
