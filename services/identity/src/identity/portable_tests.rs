#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

fn cipher(text: &str) -> SecretBox {
    SecretBox::new(&[text.repeat(40)]).unwrap()
}

fn credential(kind: &str, config: Value) -> Credential {
    Credential {
        id: Uuid::new_v4(),
        kind: kind.to_owned(),
        identifiers: vec![],
        config,
        version: 0,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn identity(credentials: Vec<Credential>) -> Identity {
    Identity {
        id: Uuid::new_v4(),
        schema_id: "default".into(),
        state: IdentityState::Active,
        state_changed_at: None,
        traits: json!({ "email": "a@example.com" }),
        metadata_public: None,
        metadata_admin: None,
        credentials,
        verifiable_addresses: vec![],
        recovery_addresses: vec![],
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

const SEED: &str = "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP";

#[test]
fn a_totp_seed_moves_sealed_from_project_to_archive_to_project() {
    let (source, archive, target) = (cipher("s"), cipher("a"), cipher("t"));
    let (source_id, target_id) = (Uuid::new_v4(), Uuid::new_v4());
    let mut stored = identity(vec![]);
    let context = credential_sealing_context(TOTP, source_id, stored.id);
    stored.credentials.push(credential(
        TOTP,
        json!({ "totp_url": source.seal(&context, SEED), "last_used_step": 7 }),
    ));
    let from = Sealing::Project {
        cipher: Some(&source),
        project_id: source_id,
    };
    let mut left_out = Vec::new();
    let portable = PortableIdentity::export(
        stored.clone(),
        from,
        Sealing::Archive(Some(&archive)),
        &mut left_out,
    )
    .unwrap();
    let carried = portable.credentials[0].config["totp_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!carried.contains("otpauth") && source.open(&context, &carried).is_err());
    assert_eq!(portable.credentials[0].config["last_used_step"], 7);

    let new_id = |old: Uuid| Uuid::new_v5(&target_id, old.as_bytes());
    let to = Sealing::Project {
        cipher: Some(&target),
        project_id: target_id,
    };
    let imported = portable
        .clone()
        .into_identity(new_id, Sealing::Archive(Some(&archive)), to, &mut left_out)
        .unwrap();
    assert_ne!(imported.id, stored.id);
    let sealed = imported.credentials[0].config["totp_url"].as_str().unwrap();
    let here = credential_sealing_context(TOTP, target_id, imported.id);
    assert_eq!(target.open(&here, sealed).unwrap(), SEED);
    assert!(left_out.is_empty());

    // Another key, or none, does not open the archive's seed.
    let wrong = cipher("w");
    assert!(
        portable
            .clone()
            .into_identity(new_id, Sealing::Archive(Some(&wrong)), to, &mut left_out)
            .is_err()
    );
    let error = portable
        .into_identity(new_id, Sealing::Archive(None), to, &mut left_out)
        .unwrap_err();
    assert!(error.contains("archive key"), "{error}");
    // Nor does an export without a key carry it.
    let error =
        PortableIdentity::export(stored, from, Sealing::Archive(None), &mut left_out).unwrap_err();
    assert!(error.contains("archive key"), "{error}");
}

#[test]
fn webauthn_records_are_resealed_or_left_to_be_rebuilt_and_backup_codes_stay() {
    let (source, archive) = (cipher("s"), cipher("a"));
    let project = Uuid::new_v4();
    let mut stored = identity(vec![]);
    let context = credential_sealing_context(WEBAUTHN, project, stored.id);
    stored.credentials.push(credential(
        WEBAUTHN,
        json!({ "credentials": [{ "id": "AQID", "public_key": "BAU=",
            "webauthn_rs": source.seal(&context, "{\"cred\":{}}") }], "user_handle": "AA==" }),
    ));
    stored.credentials.push(credential(
        LOOKUP_SECRET,
        json!({ "recovery_codes": [{ "code": "digest" }] }),
    ));
    let from = Sealing::Project {
        cipher: Some(&source),
        project_id: project,
    };
    let mut left_out = Vec::new();
    let keyless =
        PortableIdentity::export(stored.clone(), from, Sealing::Archive(None), &mut left_out)
            .unwrap();
    assert_eq!(left_out, vec![LOOKUP_SECRET.to_owned()]);
    assert_eq!(keyless.credentials.len(), 1);
    let key = &keyless.credentials[0].config["credentials"][0];
    assert!(
        key["webauthn_rs"].is_null() && key["public_key"] == "BAU=",
        "{key}"
    );

    let keyed = PortableIdentity::export(
        stored.clone(),
        from,
        Sealing::Archive(Some(&archive)),
        &mut left_out,
    )
    .unwrap();
    let sealed = keyed.credentials[0].config["credentials"][0]["webauthn_rs"]
        .as_str()
        .unwrap();
    let in_archive = format!("keyplane-archive.webauthn/{}", stored.id);
    assert_eq!(archive.open(&in_archive, sealed).unwrap(), "{\"cred\":{}}");
}

#[test]
fn imports_refuse_what_the_admin_api_refuses() {
    let archive = cipher("a");
    let to = Sealing::Project {
        cipher: Some(&archive),
        project_id: Uuid::new_v4(),
    };
    let import = |credentials: Vec<Credential>, traits: Value| {
        let mut stored = identity(credentials);
        stored.traits = traits;
        let portable =
            PortableIdentity::export(stored, to, Sealing::Archive(None), &mut Vec::new()).unwrap();
        portable.into_identity(|id| id, Sealing::Archive(None), to, &mut Vec::new())
    };
    let bcrypt = json!({ "hashed_password": "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW" });
    assert!(import(vec![credential("password", bcrypt.clone())], json!({})).is_ok());
    let cases = [
        (
            vec![credential(
                "password",
                json!({ "hashed_password": "hunter2" }),
            )],
            json!({}),
            "hashed_password",
        ),
        (
            vec![credential("password", json!({}))],
            json!({}),
            "hashed_password",
        ),
        (
            vec![credential("telepathy", json!({}))],
            json!({}),
            "telepathy",
        ),
        (
            vec![
                credential("password", bcrypt.clone()),
                credential("password", bcrypt.clone()),
            ],
            json!({}),
            "two credentials",
        ),
        (vec![], json!("a string"), "traits"),
    ];
    for (credentials, traits, says) in cases {
        let error = import(credentials, traits).unwrap_err();
        assert!(error.contains(says), "{says}: {error}");
    }
}
