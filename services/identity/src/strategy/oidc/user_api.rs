//! The user APIs of the OAuth2-only providers: which URLs (relative to the
//! provider's base, `issuer_url` when set) with which credentials, the
//! scopes Kratos insists were granted, and Facebook's `appsecret_proof`.
//! `claims.rs` turns the answers into Kratos' claims.

use super::catalog::{Kind, Resolved};
use super::claims::{
    dingtalk, discord, facebook, github, patreon, slack, spotify, userinfo, vk, yandex,
};
use super::oauth2::{call, malformed};
use super::provider::unreachable;
use hmac::{Hmac, Mac};
use kernel::identity_config::OidcProviderConfig;
use kernel::{Error, Result};
use reqwest::Method;
use serde_json::{Value, json};

/// The claims of the person the access token in `token` belongs to.
pub(super) async fn claims(
    hooks: &webhook::WebHooks,
    resolved: &Resolved,
    provider: &OidcProviderConfig,
    token: &Value,
) -> Result<Value> {
    let access = token["access_token"].as_str().unwrap_or_default();
    let base = resolved.base.trim_end_matches('/');
    let bearer = [("authorization", format!("Bearer {access}"))];
    let get = |url: String, headers: &'static [(&'static str, &'static str)]| {
        let mut all: Vec<(&str, String)> =
            headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        all.extend(bearer.iter().cloned());
        async move { call(hooks, provider, Method::GET, &url, &all, None).await }
    };
    let granted = granted_scopes(token, resolved);
    let claims = match resolved.kind {
        Kind::GitHub => {
            require_scopes(provider, resolved, &granted)?;
            let user = get(format!("{base}/user"), &[]).await?;
            // `/user` has only the public address; the list has the
            // primary one, if the person let us see it.
            let emails = if granted.iter().any(|s| s == "user:email" || s == "user") {
                Some(get(format!("{base}/user/emails"), &[]).await?)
            } else {
                None
            };
            let issuer = resolved.token_url.as_deref().unwrap_or_default();
            github(&user, emails.as_ref(), issuer)
        }
        Kind::GitLab => userinfo(get(format!("{base}/oauth/userinfo"), &[]).await?, base),
        Kind::Auth0 => userinfo(get(format!("{base}/userinfo"), &[]).await?, base),
        Kind::Discord => {
            require_scopes(provider, resolved, &granted)?;
            discord(&get(format!("{base}/users/@me"), &[]).await?, base)
        }
        Kind::Slack => {
            require_scopes(provider, resolved, &granted)?;
            let url = format!("{base}/users.identity");
            let answer = get(url.clone(), &[]).await?;
            if answer["ok"] != json!(true) {
                let error = answer["error"].as_str().unwrap_or("not ok");
                return Err(unreachable(provider, format!("{url} answered {error}")));
            }
            slack(&answer, &url)
        }
        Kind::Facebook => {
            let proof = appsecret_proof(access, &provider.client_secret);
            let url = format!("{base}/me");
            let fields = "id,name,first_name,last_name,middle_name,email,picture,birthday,gender";
            let query = format!("{url}?fields={fields}&appsecret_proof={proof}");
            facebook(&get(query, &[]).await?, &url)
        }
        Kind::Vk => {
            let url = format!("{base}/users.get");
            let mut query = url::Url::parse(&url).map_err(|e| unreachable(provider, e))?;
            query
                .query_pairs_mut()
                .append_pair("fields", "photo_200,nickname,bdate,sex")
                .append_pair("access_token", access)
                .append_pair("v", "5.103");
            vk(&get(query.into(), &[]).await?, token, &url)
        }
        Kind::Yandex => {
            // Yandex names its scheme `OAuth` (the query parameter Kratos
            // used would put the token in logs).
            let url = format!("{base}/info");
            let headers = [("authorization", format!("OAuth {access}"))];
            let answer = call(
                hooks,
                provider,
                Method::GET,
                &format!("{url}?format=json"),
                &headers,
                None,
            )
            .await?;
            yandex(&answer, &url)
        }
        Kind::Spotify => {
            require_scopes(provider, resolved, &granted)?;
            let issuer = resolved.token_url.as_deref().unwrap_or_default();
            spotify(&get(format!("{base}/me"), &[]).await?, issuer)
        }
        Kind::DingTalk => {
            let url = format!("{base}/v1.0/contact/users/me");
            let headers = [("x-acs-dingtalk-access-token", access.to_owned())];
            let answer = call(hooks, provider, Method::GET, &url, &headers, None).await?;
            dingtalk(&answer, &url)
        }
        Kind::Patreon => {
            let url = format!("{base}/identity");
            let fields = "fields%5Buser%5D=first_name,last_name,url,full_name,email,image_url";
            patreon(&get(format!("{url}?{fields}"), &[]).await?, &url)
        }
        Kind::Generic | Kind::Google | Kind::Microsoft | Kind::Apple | Kind::NetId => {
            return Err(Error::internal(
                "an OpenID Connect provider has no user API here",
            ));
        }
    };
    if claims["sub"].as_str().is_none_or(str::is_empty) {
        return Err(malformed(provider, "the person's id"));
    }
    Ok(claims)
}

/// The scopes the person granted (the token's `scope`, comma- or
/// space-separated), or the ones asked for when the provider does not say.
fn granted_scopes(token: &Value, resolved: &Resolved) -> Vec<String> {
    match token["scope"].as_str() {
        Some(scope) => scope
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => resolved.scopes.clone(),
    }
}

/// Kratos refuses an answer missing a scope it asked for.
fn require_scopes(
    provider: &OidcProviderConfig,
    resolved: &Resolved,
    granted: &[String],
) -> Result<()> {
    match resolved.scopes.iter().find(|s| !granted.contains(s)) {
        Some(missing) => Err(unreachable(
            provider,
            format!("the scope `{missing}` was not granted"),
        )),
        None => Ok(()),
    }
}

/// Facebook's proof that the caller knows the app secret: HMAC-SHA256 of
/// the access token keyed with the client secret, in hex.
pub(super) fn appsecret_proof(access_token: &str, client_secret: &str) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(client_secret.as_bytes()) else {
        // HMAC takes keys of any length.
        return String::new();
    };
    mac.update(access_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn facebook_appsecret_proof_is_hmac_sha256_of_the_token() {
        // RFC 4231, test case 2: key "Jefe".
        assert_eq!(
            appsecret_proof("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
