//! How the answers of the OAuth2-only providers' user APIs become Kratos'
//! claims (`sub`, `name`, `given_name`, `family_name`, `nickname`,
//! `preferred_username`, `email`, `email_verified`, `picture`, ...): the
//! field names and sources of Ory Kratos v0.10, empty claims left out, and
//! `email_verified` wherever there is an e-mail.

use serde_json::{Map, Value, json};

/// Claims without the empty ones.
fn claims_of(pairs: Vec<(&str, Value)>) -> Value {
    let map: Map<String, Value> = pairs
        .into_iter()
        .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Value::Object(map)
}

/// A number or a string, as a string (ids).
fn id_of(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.to_string()),
        Value::String(_) => value.clone(),
        _ => Value::Null,
    }
}

/// `email_verified` wherever there is an e-mail.
fn verified(email: &Value, flag: bool) -> Value {
    if email.as_str().is_some_and(|e| !e.is_empty()) {
        json!(flag)
    } else {
        Value::Null
    }
}

pub(super) fn github(user: &Value, emails: Option<&Value>, issuer: &str) -> Value {
    let list = emails
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let chosen = list
        .iter()
        .find(|e| e["primary"] == json!(true))
        .or_else(|| list.iter().find(|e| e["verified"] == json!(true)))
        .or_else(|| list.first());
    let (email, is_verified) = match chosen {
        Some(e) => (e["email"].clone(), e["verified"] == json!(true)),
        None => (user["email"].clone(), false),
    };
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["id"])),
        ("name", user["name"].clone()),
        ("nickname", user["login"].clone()),
        ("preferred_username", user["login"].clone()),
        ("website", user["blog"].clone()),
        ("picture", user["avatar_url"].clone()),
        ("profile", user["html_url"].clone()),
        ("email_verified", verified(&email, is_verified)),
        ("email", email),
    ])
}

/// An OpenID userinfo answer (GitLab, Auth0): already claims.
pub(super) fn userinfo(mut answer: Value, base: &str) -> Value {
    if let Some(map) = answer.as_object_mut() {
        let sub = id_of(map.get("sub").unwrap_or(&Value::Null));
        map.insert("sub".into(), sub);
        map.entry("iss").or_insert_with(|| json!(base));
        // Auth0 has sent `updated_at` as a date, not seconds.
        if let Some(date) = map.get("updated_at").and_then(Value::as_str)
            && let Ok(at) = chrono::DateTime::parse_from_rfc3339(date)
        {
            map.insert("updated_at".into(), json!(at.timestamp()));
        }
    }
    answer
}

pub(super) fn discord(user: &Value, base: &str) -> Value {
    let id = user["id"].as_str().unwrap_or_default();
    let username = user["username"].as_str().unwrap_or_default();
    let discriminator = user["discriminator"].as_str().unwrap_or("0");
    let name = if discriminator == "0" {
        username.to_owned()
    } else {
        format!("{username}#{discriminator}")
    };
    let picture = match user["avatar"].as_str() {
        Some(hash) => {
            let ext = if hash.starts_with("a_") { "gif" } else { "png" };
            format!("https://cdn.discordapp.com/avatars/{id}/{hash}.{ext}")
        }
        None => format!(
            "https://cdn.discordapp.com/embed/avatars/{}.png",
            discriminator.parse::<u64>().unwrap_or(0) % 5
        ),
    };
    let email = user["email"].clone();
    claims_of(vec![
        ("iss", json!(format!("{base}/oauth2/"))),
        ("sub", id_of(&user["id"])),
        ("name", json!(name)),
        ("nickname", json!(username)),
        ("preferred_username", json!(username)),
        ("picture", json!(picture)),
        (
            "email_verified",
            verified(&email, user["verified"] == json!(true)),
        ),
        ("email", email),
        ("locale", user["locale"].clone()),
    ])
}

pub(super) fn slack(answer: &Value, issuer: &str) -> Value {
    let user = &answer["user"];
    let email = user["email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["id"])),
        ("name", user["name"].clone()),
        ("nickname", user["name"].clone()),
        ("preferred_username", user["name"].clone()),
        ("email_verified", verified(&email, true)),
        ("email", email),
        ("picture", user["image_512"].clone()),
        ("team", answer["team"]["id"].clone()),
    ])
}

pub(super) fn facebook(user: &Value, issuer: &str) -> Value {
    let email = user["email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["id"])),
        ("name", user["name"].clone()),
        ("given_name", user["first_name"].clone()),
        ("family_name", user["last_name"].clone()),
        ("middle_name", user["middle_name"].clone()),
        ("nickname", user["name"].clone()),
        ("preferred_username", user["name"].clone()),
        ("picture", user["picture"]["data"]["url"].clone()),
        // Facebook only hands out confirmed addresses.
        ("email_verified", verified(&email, true)),
        ("email", email),
        ("gender", user["gender"].clone()),
        ("birthdate", user["birthday"].clone()),
    ])
}

pub(super) fn vk(answer: &Value, token: &Value, issuer: &str) -> Value {
    let user = &answer["response"][0];
    let gender = match user["sex"].as_u64() {
        Some(1) => json!("female"),
        Some(2) => json!("male"),
        _ => Value::Null,
    };
    // VK hands the address out with the token, not the profile.
    let email = token["email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["id"])),
        ("given_name", user["first_name"].clone()),
        ("family_name", user["last_name"].clone()),
        ("nickname", user["nickname"].clone()),
        ("picture", user["photo_200"].clone()),
        ("email_verified", verified(&email, false)),
        ("email", email),
        ("gender", gender),
        ("birthdate", user["bdate"].clone()),
    ])
}

pub(super) fn yandex(user: &Value, issuer: &str) -> Value {
    let picture = match user["default_avatar_id"].as_str() {
        Some(id) if user["is_avatar_empty"] != json!(true) => {
            json!(format!(
                "https://avatars.yandex.net/get-yapic/{id}/islands-200"
            ))
        }
        _ => Value::Null,
    };
    let email = user["default_email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["id"])),
        ("given_name", user["first_name"].clone()),
        ("family_name", user["last_name"].clone()),
        ("picture", picture),
        ("email_verified", verified(&email, false)),
        ("email", email),
        ("phone_number", user["default_phone"]["number"].clone()),
        ("gender", user["sex"].clone()),
        ("birthdate", user["birthday"].clone()),
    ])
}

pub(super) fn spotify(user: &Value, issuer: &str) -> Value {
    let email = user["email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["id"])),
        ("name", user["display_name"].clone()),
        ("nickname", user["display_name"].clone()),
        ("email_verified", verified(&email, false)),
        ("email", email),
        ("picture", user["images"][0]["url"].clone()),
        ("profile", user["external_urls"]["spotify"].clone()),
        ("birthdate", user["birthdate"].clone()),
    ])
}

pub(super) fn dingtalk(user: &Value, issuer: &str) -> Value {
    let email = user["email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&user["openId"])),
        ("name", user["nick"].clone()),
        ("nickname", user["nick"].clone()),
        ("picture", user["avatarUrl"].clone()),
        ("email_verified", verified(&email, false)),
        ("email", email),
    ])
}

pub(super) fn patreon(answer: &Value, issuer: &str) -> Value {
    let data = &answer["data"];
    let attributes = &data["attributes"];
    let email = attributes["email"].clone();
    claims_of(vec![
        ("iss", json!(issuer)),
        ("sub", id_of(&data["id"])),
        ("name", attributes["full_name"].clone()),
        ("given_name", attributes["first_name"].clone()),
        ("family_name", attributes["last_name"].clone()),
        ("last_name", attributes["last_name"].clone()),
        ("picture", attributes["image_url"].clone()),
        ("email_verified", verified(&email, false)),
        ("email", email),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn github_takes_the_primary_address_from_the_list() {
        let user = json!({"id": 583231, "login": "octocat", "name": "The Octocat",
            "blog": "https://github.blog", "avatar_url": "https://a/1", "email": null});
        let emails = json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "octo@example.com", "primary": true, "verified": true},
        ]);
        let c = github(
            &user,
            Some(&emails),
            "https://github.com/login/oauth/access_token",
        );
        assert_eq!(c["sub"], "583231");
        assert_eq!(c["email"], "octo@example.com");
        assert_eq!(c["email_verified"], true);
        assert_eq!(c["nickname"], "octocat");
        assert_eq!(c["website"], "https://github.blog");
        let c = github(&user, None, "x");
        assert!(c.get("email").is_none() && c.get("email_verified").is_none());
    }

    #[test]
    fn answers_become_kratos_claims() {
        let c = discord(
            &json!({"id": "80351110224678912", "username": "nelly", "discriminator": "1337",
                    "avatar": "8342729096ea3675442027381ff50dfe", "verified": true,
                    "email": "nelly@discord.com", "locale": "en-US"}),
            "https://discord.com/api",
        );
        assert_eq!(c["sub"], "80351110224678912");
        assert_eq!(c["name"], "nelly#1337");
        assert_eq!(c["email_verified"], true);
        assert_eq!(
            c["picture"],
            "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
        );
        let c = vk(
            &json!({"response": [{"id": 210700286, "first_name": "Lindsey", "last_name": "Stirling", "sex": 1}]}),
            &json!({"access_token": "t", "email": "l@example.com"}),
            "https://api.vk.com/method/users.get",
        );
        assert_eq!(c["sub"], "210700286");
        assert_eq!(c["email"], "l@example.com");
        assert_eq!(c["gender"], "female");
        let c = yandex(
            &json!({"id": "1000034426", "first_name": "Ivan", "default_email": "ivan@yandex.ru",
                    "default_avatar_id": "131652443", "is_avatar_empty": false}),
            "https://login.yandex.ru/info",
        );
        assert_eq!(c["sub"], "1000034426");
        assert_eq!(
            c["picture"],
            "https://avatars.yandex.net/get-yapic/131652443/islands-200"
        );
        assert!(c.get("family_name").is_none(), "empty claims are left out");
        let c = facebook(
            &json!({"id": "10", "name": "Fay", "email": "fay@example.com",
                    "picture": {"data": {"url": "https://p/1"}}}),
            "https://graph.facebook.com/me",
        );
        assert_eq!(
            (c["email_verified"].clone(), c["picture"].clone()),
            (json!(true), json!("https://p/1"))
        );
        let c = slack(
            &json!({"ok": true, "user": {"id": "U1", "name": "Sam", "email": "s@example.com"}, "team": {"id": "T1"}}),
            "https://slack.com/api/users.identity",
        );
        assert_eq!(
            (c["sub"].clone(), c["team"].clone()),
            (json!("U1"), json!("T1"))
        );
        let c = userinfo(
            json!({"sub": 42, "email": "a@example.com", "updated_at": "2020-01-01T00:00:00Z"}),
            "https://acme.auth0.com",
        );
        assert_eq!(c["sub"], "42");
        assert_eq!(c["updated_at"], 1_577_836_800);
        assert_eq!(c["iss"], "https://acme.auth0.com");
        let c = patreon(
            &json!({"data": {"id": "7", "attributes": {"full_name": "P Q", "email": "p@example.com"}}}),
            "https://www.patreon.com/api/oauth2/v2/identity",
        );
        assert_eq!(
            (c["sub"].clone(), c["name"].clone()),
            (json!("7"), json!("P Q"))
        );
    }
}
