//! The OpenID provider the social sign-in tests run against
//! (`keyplane_tests::oidc_provider`, `tests/oidc/provider.js`), on its own,
//! without a Keyplane server: discovery and JWKS, the authorization code
//! flow with PKCE and without, both client authentication methods, and
//! each test mode changing the ID token (or the login) as it says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use keyplane_tests::oidc_provider::{
    Account, Client, Mode, OidcProvider, follow_redirects_until, jwt_parts,
};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A browser-like client: cookies kept, redirects not followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn provider() -> OidcProvider {
    let started = std::time::Instant::now();
    let idp = OidcProvider::start(
        &[
            Client::new("kp-basic", "basic-secret", REDIRECT),
            Client::new("kp-post", "post-secret", REDIRECT).post(),
        ],
        &[
            Account::new("alice", "alice@example.com")
                .claim("name", "Alice Example")
                .claim("given_name", "Alice")
                .claim("family_name", "Example"),
            Account::new("bob", "bob@example.com").claim("email_verified", false),
        ],
    )
    .await;
    eprintln!("provider started in {:?}", started.elapsed());
    idp
}

/// What one authorization code flow asks and gets.
struct Flow {
    client_id: &'static str,
    login_hint: Option<&'static str>,
    pkce: bool,
}

struct Outcome {
    state: String,
    nonce: String,
    /// The query of the redirect to the client.
    callback: Vec<(String, String)>,
    verifier: String,
}

impl Outcome {
    fn param(&self, name: &str) -> Option<&str> {
        self.callback
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs the front channel of a flow: /auth, the provider's automatic
/// login and consent, up to the redirect to the client.
async fn authorize(idp: &OidcProvider, flow: &Flow) -> Outcome {
    let state = uuid::Uuid::new_v4().simple().to_string();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut auth = url::Url::parse(&format!("{}/auth", idp.issuer)).unwrap();
    {
        let mut q = auth.query_pairs_mut();
        q.append_pair("client_id", flow.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce);
        if flow.pkce {
            let challenge = b64url(&sha2::Sha256::digest(verifier.as_bytes()));
            q.append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
        }
        if let Some(hint) = flow.login_hint {
            q.append_pair("login_hint", hint);
        }
    }
    let callback = follow_redirects_until(&browser(), auth.as_str(), REDIRECT).await;
    Outcome {
        state,
        nonce,
        callback: callback.query_pairs().into_owned().collect(),
        verifier,
    }
}

/// The token endpoint's answer for the flow's code (status, JSON body).
async fn exchange(
    idp: &OidcProvider,
    flow: &Flow,
    outcome: &Outcome,
    verifier: Option<&str>,
) -> (u16, Value) {
    let code = outcome.param("code").expect("a code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    let request = keyplane_tests::client().post(format!("{}/token", idp.issuer));
    let request = match flow.client_id {
        "kp-basic" => request
            .basic_auth("kp-basic", Some("basic-secret"))
            .form(&form),
        _ => {
            form.push(("client_id", "kp-post"));
            form.push(("client_secret", "post-secret"));
            request.form(&form)
        }
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A whole flow that must succeed: its ID token's header and claims, and
/// whether the signature verifies with the published JWKS.
async fn id_token(idp: &OidcProvider, flow: &Flow) -> (Outcome, Value, Value, bool) {
    let outcome = authorize(idp, flow).await;
    assert_eq!(outcome.param("state"), Some(outcome.state.as_str()));
    assert_eq!(outcome.param("iss"), Some(idp.issuer.as_str()));
    let verifier = flow.pkce.then_some(outcome.verifier.as_str());
    let (status, tokens) = exchange(idp, flow, &outcome, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let jwt = tokens["id_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(jwt);
    let verified = verifies_with_jwks(idp, jwt).await;
    (outcome, header, claims, verified)
}

/// Checks an RS256 signature with the JWKS key of the token's `kid`.
async fn verifies_with_jwks(idp: &OidcProvider, jwt: &str) -> bool {
    let jwks =
        keyplane_tests::get_json(&keyplane_tests::client(), &format!("{}/jwks", idp.issuer)).await;
    let (header, _) = jwt_parts(jwt);
    assert_eq!(header["alg"], "RS256");
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    let bytes = |field: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(key[field].as_str().unwrap())
            .unwrap()
    };
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    ring::signature::RsaPublicKeyComponents {
        n: bytes("n"),
        e: bytes("e"),
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &signature,
    )
    .is_ok()
}

const ALICE_PKCE: Flow = Flow {
    client_id: "kp-basic",
    login_hint: None,
    pkce: true,
};

#[tokio::test]
async fn discovery_jwks_and_the_code_flow() {
    let idp = provider().await;
    let http = keyplane_tests::client();

    let discovery = keyplane_tests::get_json(&http, &idp.discovery_url()).await;
    assert_eq!(discovery["issuer"], idp.issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/auth"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/jwks"),
        ("userinfo_endpoint", "/me"),
    ] {
        assert_eq!(discovery[field], format!("{}{path}", idp.issuer), "{field}");
    }
    let has = |field: &str, value: &str| {
        discovery[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field}: {discovery}"))
            .iter()
            .any(|v| v == value)
    };
    for scope in ["openid", "email", "profile"] {
        assert!(has("scopes_supported", scope), "{scope}");
    }
    for claim in [
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
    ] {
        assert!(has("claims_supported", claim), "{claim}");
    }
    assert!(has("code_challenge_methods_supported", "S256"));
    assert!(has(
        "token_endpoint_auth_methods_supported",
        "client_secret_basic"
    ));
    assert!(has(
        "token_endpoint_auth_methods_supported",
        "client_secret_post"
    ));

    let jwks = keyplane_tests::get_json(&http, &format!("{}/jwks", idp.issuer)).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "RSA");
    assert!(keys[0].get("d").is_none(), "the JWKS is public: {jwks}");

    // PKCE, client_secret_basic, the default account (the first).
    let (outcome, header, claims, verified) = id_token(&idp, &ALICE_PKCE).await;
    assert!(verified, "the ID token verifies with the JWKS");
    assert_eq!(header["kid"], keys[0]["kid"]);
    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["aud"], "kp-basic");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], outcome.nonce.as_str());
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["given_name"], "Alice");
    assert_eq!(claims["family_name"], "Example");
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now() + 60, "{claims}");

    // PKCE is checked when it is used: a wrong verifier gets no tokens.
    let outcome = authorize(&idp, &ALICE_PKCE).await;
    let (status, body) = exchange(&idp, &ALICE_PKCE, &outcome, Some("x".repeat(43).as_str())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // No PKCE, client_secret_post, the account of the login_hint; the
    // access token reads the same claims from the userinfo endpoint.
    let bob = Flow {
        client_id: "kp-post",
        login_hint: Some("bob"),
        pkce: false,
    };
    let outcome = authorize(&idp, &bob).await;
    let (status, tokens) = exchange(&idp, &bob, &outcome, None).await;
    assert_eq!(status, 200, "{tokens}");
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["aud"], "kp-post");
    assert_eq!(claims["email_verified"], false);
    let userinfo: Value = http
        .get(format!("{}/me", idp.issuer))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "bob");
    assert_eq!(userinfo["email"], "bob@example.com");

    // A wrong client secret is refused.
    let outcome = authorize(&idp, &ALICE_PKCE).await;
    let response = http
        .post(format!("{}/token", idp.issuer))
        .basic_auth("kp-basic", Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", outcome.param("code").unwrap()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &outcome.verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn test_modes_break_what_they_say() {
    let idp = provider().await;
    let published_kid = {
        let (_, header, _, verified) = id_token(&idp, &ALICE_PKCE).await;
        assert!(verified);
        header["kid"].clone()
    };

    idp.set_mode(&Mode {
        expired_id_token: true,
        ..Mode::default()
    })
    .await;
    let (_, _, claims, verified) = id_token(&idp, &ALICE_PKCE).await;
    let (exp, iat) = (
        claims["exp"].as_i64().unwrap(),
        claims["iat"].as_i64().unwrap(),
    );
    assert!(exp < now() - 600 && iat < exp, "{claims}");
    assert!(verified, "only the expiry is wrong");

    idp.set_mode(&Mode {
        foreign_key: true,
        ..Mode::default()
    })
    .await;
    let (outcome, header, claims, verified) = id_token(&idp, &ALICE_PKCE).await;
    assert!(!verified, "signed by a key the JWKS does not publish");
    assert_eq!(header["kid"], published_kid, "the kid still looks right");
    assert_eq!(claims["nonce"], outcome.nonce.as_str());
    assert!(claims["exp"].as_i64().unwrap() > now());

    idp.set_mode(&Mode {
        wrong_nonce: true,
        ..Mode::default()
    })
    .await;
    let (outcome, _, claims, verified) = id_token(&idp, &ALICE_PKCE).await;
    assert!(verified);
    assert!(claims["nonce"].is_string());
    assert_ne!(claims["nonce"], outcome.nonce.as_str());

    let overrides = json!({"aud": "someone-else", "email_verified": false});
    idp.set_mode(&Mode {
        id_token_claims: Some(overrides.as_object().unwrap().clone()),
        ..Mode::default()
    })
    .await;
    let (_, _, claims, verified) = id_token(&idp, &ALICE_PKCE).await;
    assert!(verified);
    assert_eq!(claims["aud"], "someone-else");
    assert_eq!(claims["email_verified"], false);

    // A denied login, and a login_hint nobody has, end at the client
    // with access_denied.
    idp.set_mode(&Mode {
        deny: true,
        ..Mode::default()
    })
    .await;
    let outcome = authorize(&idp, &ALICE_PKCE).await;
    assert_eq!(outcome.param("error"), Some("access_denied"));
    assert_eq!(outcome.param("state"), Some(outcome.state.as_str()));
    assert_eq!(outcome.param("code"), None);

    idp.set_mode(&Mode::default()).await;
    let nobody = Flow {
        login_hint: Some("nobody"),
        ..ALICE_PKCE
    };
    let outcome = authorize(&idp, &nobody).await;
    assert_eq!(outcome.param("error"), Some("access_denied"));

    // Accounts added at run time log in; the default mode is sound again.
    idp.add_accounts(&[Account::new("carol", "carol@example.com")])
        .await;
    let carol = Flow {
        login_hint: Some("carol"),
        ..ALICE_PKCE
    };
    let (outcome, header, claims, verified) = id_token(&idp, &carol).await;
    assert!(verified);
    assert_eq!(header["kid"], published_kid);
    assert_eq!(claims["sub"], "carol");
    assert_eq!(claims["email"], "carol@example.com");
    assert_eq!(claims["nonce"], outcome.nonce.as_str());
    assert!(claims["exp"].as_i64().unwrap() > now());
}
