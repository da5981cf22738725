//! Property test: for every supported key, normalize → assemble → normalize
//! is a fixed point. Random valid revisions (seeded, so failures replay) are
//! assembled into Kratos/Keto documents and normalized back.

use super::assemble::{identity_config, permission_config};
use super::keys::{IDENTITY_KEYS, Key, Kind};
use super::model::{
    HookRow, IdentitySchemaRow, KetoNamespaceRow, OidcProviderRow, RevisionContent,
};
use super::{replace_identity, replace_permission};
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn word(rng: &mut StdRng) -> String {
    let n = rng.random_range(1..12);
    (0..n)
        .map(|_| char::from(rng.random_range(b'a'..=b'z')))
        .collect()
}

fn url(rng: &mut StdRng) -> String {
    format!("https://{}.example.com/{}", word(rng), word(rng))
}

fn value_for(kind: Kind, rng: &mut StdRng) -> Value {
    match kind {
        Kind::Str => json!(format!("{} {}", word(rng), word(rng))),
        Kind::Url => json!(url(rng)),
        Kind::Duration => json!(format!(
            "{}{}",
            rng.random_range(1..500),
            ["s", "m", "h", "ms"][rng.random_range(0..4)]
        )),
        Kind::Bool => json!(rng.random_bool(0.5)),
        Kind::Int => json!(rng.random_range(0..100_000)),
        Kind::StrList => json!(
            (0..rng.random_range(0..4))
                .map(|_| word(rng))
                .collect::<Vec<_>>()
        ),
        Kind::Object => json!({ word(rng): word(rng), "X-Static": "1" }),
        Kind::OneOf(options) => json!(options[rng.random_range(0..options.len())]),
    }
}

/// A usable value for `key`: branding values have a shape of their own
/// (an invalid one is dropped with a warning, so it would not round-trip).
fn key_value(key: &Key, rng: &mut StdRng) -> Value {
    let hex = |rng: &mut StdRng| format!("{:06x}", rng.random_range(0..0x100_0000));
    match key.path {
        "ui.logo_url" | "ui.favicon_url" => json!(url(rng)),
        "ui.primary_color" => json!(format!("#{}", hex(rng))),
        "ui.default_locale" => json!(["en", "de", "pt-BR", "de-AT"][rng.random_range(0..4)]),
        _ => value_for(key.kind, rng),
    }
}

fn random_hook(rng: &mut StdRng, config_key: &str) -> HookRow {
    let mut row = HookRow {
        config_key: config_key.to_owned(),
        ..HookRow::default()
    };
    let can_session = config_key.starts_with("registration.after.");
    let can_login = config_key.starts_with("login.after.");
    row.hook = match rng.random_range(0..3) {
        0 if can_session => "session",
        1 if can_login => "require_verified_address",
        _ => "web_hook",
    }
    .to_owned();
    if row.hook == "web_hook" {
        row.web_hook_config_url = Some(url(rng));
        row.web_hook_config_method =
            Some(["POST", "GET", "PUT"][rng.random_range(0..3)].to_owned());
        if rng.random_bool(0.5) {
            row.web_hook_config_body = Some("base64://ZnVuY3Rpb24oY3R4KSB7fQ==".to_owned());
        }
        if rng.random_bool(0.5) {
            row.web_hook_config_response_ignore = Some(rng.random_bool(0.5));
        }
        match rng.random_range(0..3) {
            0 => {
                row.web_hook_config_auth_type = Some("api_key".to_owned());
                row.web_hook_config_auth_api_key_name = Some("X-Key".to_owned());
                row.web_hook_config_auth_api_key_value = Some(word(rng));
                row.web_hook_config_auth_api_key_in = Some("header".to_owned());
            }
            1 => {
                row.web_hook_config_auth_type = Some("basic_auth".to_owned());
                row.web_hook_config_auth_basic_auth_user = Some(word(rng));
                row.web_hook_config_auth_basic_auth_password = Some(word(rng));
            }
            _ => {}
        }
    }
    row
}

fn random_revision(rng: &mut StdRng) -> RevisionContent {
    let mut content = RevisionContent {
        name: word(rng),
        ..RevisionContent::default()
    };
    for key in IDENTITY_KEYS {
        if rng.random_bool(0.6) {
            content
                .scalars
                .insert(key.column_name().to_owned(), key_value(key, rng));
        }
    }
    let hook_keys = [
        "registration.after.password.hooks",
        "registration.after.hooks",
        "login.after.hooks",
        "login.before.hooks",
        "settings.after.profile.hooks",
        "recovery.after.hooks",
        "verification.after.hooks",
    ];
    // Hooks are kept sorted by config key (stable within a key), as normalize orders them.
    for key in hook_keys {
        for _ in 0..rng.random_range(0..3) {
            content.hooks.push(random_hook(rng, key));
        }
    }
    content
        .hooks
        .sort_by(|a, b| a.config_key.cmp(&b.config_key));
    let schema_count = rng.random_range(1..4);
    let default = rng.random_range(0..schema_count);
    for i in 0..schema_count {
        let mut row = IdentitySchemaRow {
            import_id: format!("s{i}-{}", word(rng)),
            ..IdentitySchemaRow::default()
        };
        if rng.random_bool(0.5) {
            row.preset = Some(["email", "username"][rng.random_range(0..2)].to_owned());
        } else {
            let schema = json!({ "type": "object", "title": word(rng) });
            let encoded = base64::engine::general_purpose::STANDARD.encode(schema.to_string());
            row.import_url = Some(format!("base64://{encoded}"));
        }
        row.is_default = i == default;
        content.identity_schemas.push(row);
    }
    for i in 0..rng.random_range(0..3) {
        content.oidc_providers.push(OidcProviderRow {
            provider_id: format!("p{i}"),
            provider: ["google", "github", "generic", "microsoft"][rng.random_range(0..4)]
                .to_owned(),
            client_id: Some(word(rng)),
            client_secret: rng.random_bool(0.5).then(|| word(rng)),
            issuer_url: rng.random_bool(0.5).then(|| url(rng)),
            mapper_url: Some("base64://bG9jYWwgY2xhaW1zID0ge307IHt9".to_owned()),
            scope: rng
                .random_bool(0.5)
                .then(|| vec!["email".to_owned(), word(rng)]),
            requested_claims: rng
                .random_bool(0.3)
                .then(|| json!({ "id_token": { "email": null } })),
            label: rng.random_bool(0.5).then(|| word(rng)),
            azure_tenant: rng.random_bool(0.2).then(|| word(rng)),
            ..OidcProviderRow::default()
        });
    }
    for i in 0..rng.random_range(0..4) {
        content.keto_namespaces.push(KetoNamespaceRow {
            namespace_id: i * 7,
            name: format!("ns{i}_{}", word(rng)),
        });
    }
    if rng.random_bool(0.5) {
        content.keto_read_max_depth = Some(rng.random_range(1..50));
    }
    if rng.random_bool(0.5) {
        content.keto_batch_check_max_size = Some(rng.random_range(1..1000));
    }
    content
}

fn normalize(name: &str, identity: &Value, permission: &Value) -> RevisionContent {
    let mut out = RevisionContent {
        name: name.to_owned(),
        ..RevisionContent::default()
    };
    let w1 = replace_identity(&mut out, identity).unwrap_or_else(|e| panic!("{e}\n{identity:#}"));
    let w2 = replace_permission(&mut out, permission).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        w1.is_empty() && w2.is_empty(),
        "assembled configs carry no warnings: {w1:?} {w2:?}"
    );
    out
}

#[test]
fn normalize_assemble_normalize_is_a_fixed_point() {
    for seed in 0..400u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let original = random_revision(&mut rng);
        let identity = identity_config(&original);
        let permission = permission_config(&original);
        let once = normalize(&original.name, &identity, &permission);
        assert_eq!(once, original, "seed {seed}: normalize(assemble(x)) == x");
        let twice = normalize(
            &once.name,
            &identity_config(&once),
            &permission_config(&once),
        );
        assert_eq!(twice, once, "seed {seed}: fixed point");
        assert_eq!(
            identity_config(&twice),
            identity,
            "seed {seed}: documents are stable"
        );
    }
}

#[test]
fn every_supported_key_survives_the_round_trip() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut content = random_revision(&mut rng);
    for key in IDENTITY_KEYS {
        content
            .scalars
            .insert(key.column_name().to_owned(), key_value(key, &mut rng));
    }
    let back = normalize(
        &content.name,
        &identity_config(&content),
        &permission_config(&content),
    );
    assert_eq!(back.scalars.len(), IDENTITY_KEYS.len());
    assert_eq!(back, content);
}
