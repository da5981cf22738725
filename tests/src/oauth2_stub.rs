//! A stub of two OAuth2-only providers for the social sign-in tests: the
//! shapes of GitHub (`/login/oauth/authorize`, `/login/oauth/access_token`,
//! `/user`, `/user/emails`) and Discord (`/api/oauth2/*`,
//! `/api/users/@me`), on a free loopback port. It checks the client's
//! credentials, single-use codes, the redirect URI and the PKCE verifier,
//! and records every token request.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::Mutex;

pub const CLIENT_ID: &str = "keyplane-client";
pub const SECRET: &str = "a-client-secret-of-some-length";

/// A person at the stub, by login hint.
#[derive(Clone)]
pub struct Person {
    pub id: u64,
    pub login: &'static str,
    pub primary_email: &'static str,
}

pub const OCTO: Person = Person {
    id: 583_231,
    login: "octocat",
    primary_email: "octo@example.com",
};
pub const NELLY: Person = Person {
    id: 80_351_110_224_678_912,
    login: "nelly",
    primary_email: "nelly@example.com",
};

/// What the authorization endpoint handed out, to be checked at the token
/// endpoint.
pub struct Grant {
    pub person: Person,
    pub redirect_uri: String,
    pub challenge: Option<String>,
}

#[derive(Default)]
pub struct StubState {
    pub grants: HashMap<String, Grant>,
    pub tokens: HashMap<String, Person>,
    /// Every token request's form, in order.
    pub token_requests: Vec<HashMap<String, String>>,
    pub counter: u64,
}

pub type Shared = web::Data<Mutex<StubState>>;
type TokenForm = web::Form<HashMap<String, String>>;

fn people() -> HashMap<&'static str, Person> {
    HashMap::from([("octocat", OCTO), ("nelly", NELLY)])
}

/// `/login/oauth/authorize` and `/api/oauth2/authorize`: the person named
/// by `login_hint` consents at once; back to `redirect_uri` with a code
/// and the state.
async fn authorize(state: Shared, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let q = query.into_inner();
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return HttpResponse::BadRequest().body("bad client or response type");
    }
    let Some(person) = q
        .get("login_hint")
        .and_then(|h| people().get(h.as_str()).cloned())
    else {
        return HttpResponse::BadRequest().body("unknown person");
    };
    if q.contains_key("code_challenge")
        && q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return HttpResponse::BadRequest().body("only S256");
    }
    let redirect_uri = q["redirect_uri"].clone();
    let mut s = state.lock().unwrap();
    s.counter += 1;
    let code = format!("code-{}", s.counter);
    s.grants.insert(
        code.clone(),
        Grant {
            person,
            redirect_uri: redirect_uri.clone(),
            challenge: q.get("code_challenge").cloned(),
        },
    );
    let mut back = url::Url::parse(&redirect_uri).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.get("state").map(String::as_str).unwrap_or(""));
    HttpResponse::Found()
        .insert_header(("location", back.to_string()))
        .finish()
}

/// The token endpoints: the code once, for this client and redirect URI,
/// with the PKCE verifier that matches the challenge (if one was sent).
async fn token(
    state: Shared,
    req: HttpRequest,
    form: TokenForm,
    granted: &'static str,
) -> HttpResponse {
    let f = form.into_inner();
    let mut s = state.lock().unwrap();
    s.token_requests.push(f.clone());
    let refuse = |what: &str| {
        HttpResponse::BadRequest()
            .json(json!({"error": "invalid_grant", "error_description": what}))
    };
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(SECRET)
    {
        return refuse("bad client credentials");
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refuse("bad grant type");
    }
    let Some(grant) = f.get("code").and_then(|c| s.grants.remove(c)) else {
        return refuse("unknown or used code");
    };
    if f.get("redirect_uri") != Some(&grant.redirect_uri) {
        return refuse("redirect_uri differs");
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        if &computed != challenge {
            return refuse("PKCE verifier does not match");
        }
    }
    s.counter += 1;
    let access = format!("token-{}", s.counter);
    s.tokens.insert(access.clone(), grant.person);
    let answer = json!({"access_token": access, "token_type": "bearer", "scope": granted});
    // GitHub answers a form unless asked for JSON.
    let wants_json = req
        .headers()
        .get("accept")
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("json"));
    if wants_json {
        HttpResponse::Ok().json(answer)
    } else {
        HttpResponse::Ok()
            .content_type("application/x-www-form-urlencoded")
            .body(format!("access_token={access}&token_type=bearer"))
    }
}

/// `body` for the person the bearer token belongs to; GitHub also insists
/// on a User-Agent.
fn as_user(state: &Shared, req: &HttpRequest, body: impl FnOnce(&Person) -> Value) -> HttpResponse {
    if req.headers().get("user-agent").is_none() {
        return HttpResponse::Forbidden().body("a User-Agent is required");
    }
    let token = req
        .headers()
        .get("authorization")
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or_default();
    let person = state.lock().unwrap().tokens.get(token).cloned();
    match person {
        Some(p) => HttpResponse::Ok().json(body(&p)),
        None => HttpResponse::Unauthorized().json(json!({"message": "Bad credentials"})),
    }
}

async fn github_user(state: Shared, req: HttpRequest) -> HttpResponse {
    as_user(&state, &req, |p| {
        json!({
            "id": p.id, "login": p.login, "name": format!("The {}", p.login),
            "email": null, "avatar_url": format!("https://avatars.example/{}", p.id),
            "blog": "https://blog.example", "html_url": format!("https://github.example/{}", p.login),
        })
    })
}

async fn github_emails(state: Shared, req: HttpRequest) -> HttpResponse {
    // The primary address is not the first one.
    as_user(&state, &req, |p| {
        json!([
            {"email": format!("old-{}", p.primary_email), "primary": false, "verified": true},
            {"email": p.primary_email, "primary": true, "verified": true},
            {"email": format!("unverified-{}", p.primary_email), "primary": false, "verified": false},
        ])
    })
}

async fn discord_me(state: Shared, req: HttpRequest) -> HttpResponse {
    as_user(&state, &req, |p| {
        json!({
            "id": p.id.to_string(), "username": p.login, "discriminator": "0",
            "avatar": null, "verified": true, "email": p.primary_email, "locale": "en-US",
        })
    })
}

pub struct Stub {
    pub base: String,
    pub state: Shared,
}

/// The stub on a free loopback port.
pub async fn start_stub() -> Stub {
    let state: Shared = web::Data::new(Mutex::new(StubState::default()));
    let data = state.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/login/oauth/authorize", web::get().to(authorize))
            .route(
                "/login/oauth/access_token",
                web::post().to(|s: Shared, r: HttpRequest, f: TokenForm| {
                    token(s, r, f, "read:user,user:email")
                }),
            )
            .route("/user", web::get().to(github_user))
            .route("/user/emails", web::get().to(github_emails))
            .route("/api/oauth2/authorize", web::get().to(authorize))
            .route(
                "/api/oauth2/token",
                web::post()
                    .to(|s: Shared, r: HttpRequest, f: TokenForm| token(s, r, f, "identify email")),
            )
            .route("/api/users/@me", web::get().to(discord_me))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Stub { base, state }
}
