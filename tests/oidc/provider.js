// A real OpenID provider (panva's certified `oidc-provider`) for Keyplane's
// social sign-in tests. Started by tests/src/oidc_provider.rs; usable by
// hand too:
//
//   node tests/oidc/provider.js '{"clients":[...],"accounts":[...]}'
//
// Configuration: a JSON object as the first argument, else in the
// environment variable OIDC_PROVIDER_CONFIG:
//   port            (or env OIDC_PROVIDER_PORT) 0 = pick a free port
//   clients         [{client_id, client_secret, redirect_uris,
//                     token_endpoint_auth_method}] (client_secret_basic |
//                     client_secret_post; any other client metadata passes)
//   accounts        [{sub, email, email_verified, name, ...}]: every key but
//                     `sub` is a claim of that account
//   default_account the sub logged in when the request has no login_hint
//                     (else the first account)
//   mode            the initial test mode (see below)
//
// Once listening it prints one line on stdout, then only logs on stderr:
//   READY {"issuer":"http://127.0.0.1:PORT","port":PORT}
//
// Login is never interactive: GET /interaction/:uid logs in the account
// whose sub is the authorization request's `login_hint` (else the default
// one) and consents to everything asked. An unknown login_hint ends the
// flow with error=access_denied, as a user who gives up would.
//
// Test knobs, outside the OpenID protocol (loopback test use only):
//   GET  /__test/mode     the current mode
//   POST /__test/mode     replaces it with the JSON body, e.g.
//     {"expired_id_token":true}  ID tokens whose exp (and iat) lie in the past
//     {"foreign_key":true}       ID tokens signed by a key the JWKS does not
//                                publish (the header keeps the published kid,
//                                so only a signature check catches it)
//     {"wrong_nonce":true}       ID tokens whose nonce is not the request's
//     {"id_token_claims":{...}}  claims merged into the ID token last (a
//                                wrong aud or iss, email_verified false, ...)
//     {"deny":true}              every login ends with error=access_denied
//   POST /__test/accounts  adds or replaces accounts: [{sub, ...claims}]
//
// oidc-provider has no setting for any of the ID token knobs (its TTLs must
// be positive, its nonce and signing key are not pluggable), so they are
// done by post-processing: a middleware around the token endpoint rewrites
// the id_token of the response and signs it again (RS256 with node:crypto).

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { promisify } from 'node:util';
import Provider from 'oidc-provider';

// stdout carries only the READY line: oidc-provider's NOTICEs go to stderr,
// and its one warning that is expected here (the in-memory adapter, which is
// what a test wants) is dropped.
console.info = console.error;
const warn = console.warn;
console.warn = (msg, ...rest) => {
  if (!String(msg).includes('in-memory adapter')) warn(msg, ...rest);
};

const config = JSON.parse(process.argv[2] || process.env.OIDC_PROVIDER_CONFIG || '{}');
const port = Number(process.env.OIDC_PROVIDER_PORT ?? config.port ?? 0);

// Accounts: sub -> claims (without sub).
const accounts = new Map();
function addAccounts(list) {
  for (const { sub, ...claims } of list || []) {
    if (typeof sub !== 'string' || !sub) throw new Error('an account needs a string "sub"');
    accounts.set(sub, claims);
  }
}
addAccounts(config.accounts);

let mode = { ...(config.mode || {}) };

// The signing key the JWKS publishes, and a foreign one with the same kid.
// Made in parallel on libuv's threads: RSA key generation is most of the
// start-up time.
const generateKeyPair = promisify(crypto.generateKeyPair);
async function rsaKey(kid) {
  const { privateKey } = await generateKeyPair('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}
const kid = `kp-test-${crypto.randomBytes(4).toString('hex')}`;
const [signing, foreign] = await Promise.all([rsaKey(kid), rsaKey(kid)]);

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unb64 = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

// Applies the current mode to an id_token (compact JWS) and signs it again.
function rewriteIdToken(idToken) {
  const [h, p] = idToken.split('.');
  const header = unb64(h);
  const payload = unb64(p);
  const now = Math.floor(Date.now() / 1000);
  if (mode.expired_id_token) {
    payload.iat = now - 7200;
    payload.exp = now - 3600;
  }
  if (mode.wrong_nonce) {
    payload.nonce = `not-the-nonce-${crypto.randomBytes(6).toString('hex')}`;
  }
  Object.assign(payload, mode.id_token_claims || {});
  const key = mode.foreign_key ? foreign.privateKey : signing.privateKey;
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), key).toString('base64url');
  return `${input}.${signature}`;
}

const rewrites = () => mode.expired_id_token || mode.wrong_nonce || mode.foreign_key || mode.id_token_claims;

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body ? JSON.parse(body) : {};
}

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const actualPort = server.address().port;
  const issuer = `http://127.0.0.1:${actualPort}`;

  const provider = new Provider(issuer, {
    clients: config.clients || [],
    jwks: { keys: [signing.jwk] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username',
        'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
    },
    // The scope's claims go in the ID token too, not only to /me.
    conformIdTokenClaims: false,
    // PKCE is accepted (S256) but not required of confidential clients.
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    async findAccount(_ctx, sub) {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600,
      Grant: 3600, Session: 3600, RefreshToken: 86400,
    },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  provider.use(async (ctx, next) => {
    // The test knobs.
    if (ctx.path === '/__test/mode') {
      if (ctx.method === 'POST') mode = await readJson(ctx.req);
      ctx.body = mode;
      return;
    }
    if (ctx.path === '/__test/accounts' && ctx.method === 'POST') {
      addAccounts(await readJson(ctx.req));
      ctx.body = [...accounts.keys()];
      return;
    }

    // The non-interactive login and consent.
    if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      const { prompt, params } = details;
      let result;
      if (mode.deny) {
        result = { error: 'access_denied', error_description: 'the test provider denies every login' };
      } else if (prompt.name === 'login') {
        const sub = params.login_hint || config.default_account || accounts.keys().next().value;
        result = accounts.has(sub)
          ? { login: { accountId: sub } }
          : { error: 'access_denied', error_description: `no test account ${sub}` };
      } else {
        // consent: grant whatever is missing.
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
        const missing = prompt.details;
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        result = { consent: { grantId: await grant.save() } };
      }
      await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
      ctx.respond = false;
      return;
    }

    await next();

    // The ID token knobs.
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token && rewrites()) {
      ctx.body = { ...ctx.body, id_token: rewriteIdToken(ctx.body.id_token) };
    }
  });

  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
  server.on('request', provider.callback());
  console.log(`READY ${JSON.stringify({ issuer, port: actualPort })}`);
});

// Stop when asked, or (OIDC_PROVIDER_EXIT_ON_STDIN_EOF=1, as the Rust helper
// sets) when the parent goes away, even if it could not kill us.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
if (process.env.OIDC_PROVIDER_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
