//! The identity store and the credential store: identities, their
//! credentials and identifiers, verifiable and recovery addresses.

use super::{Tenants, name, nid_tables, now, unchanged_by};
use identity::identity::model::{Credential, RecoveryAddress, VerifiableAddress};
use identity::identity::store as id_store;
use identity::identity::{Identity, IdentityState};
use identity::identity::{bulk_store, credential_store};
use serde_json::json;
use store::entity::{
    identities, identity_credential_identifiers, identity_credentials, identity_recovery_addresses,
    identity_verifiable_addresses,
};
use uuid::Uuid;

pub fn tables() -> Vec<&'static str> {
    vec![
        name::<identities::Entity>(),
        name::<identity_credentials::Entity>(),
        name::<identity_credential_identifiers::Entity>(),
        name::<identity_verifiable_addresses::Entity>(),
        name::<identity_recovery_addresses::Entity>(),
    ]
}

/// An identity with a password credential and both kinds of address.
pub fn person(email: &str) -> Identity {
    let now = now();
    Identity {
        id: Uuid::now_v7(),
        schema_id: "default".into(),
        state: IdentityState::Active,
        state_changed_at: None,
        traits: json!({ "email": email }),
        metadata_public: Some(json!({ "tier": "gold" })),
        metadata_admin: None,
        credentials: vec![Credential {
            id: Uuid::now_v7(),
            kind: "password".into(),
            identifiers: vec![email.into()],
            config: json!({ "hashed_password": "$argon2id$not-a-real-hash" }),
            version: 0,
            created_at: now,
            updated_at: now,
        }],
        verifiable_addresses: vec![VerifiableAddress {
            id: Uuid::now_v7(),
            value: email.into(),
            verified: false,
            via: "email".into(),
            status: "pending".into(),
            verified_at: None,
            created_at: now,
            updated_at: now,
        }],
        recovery_addresses: vec![RecoveryAddress {
            id: Uuid::now_v7(),
            value: email.into(),
            via: "email".into(),
            created_at: now,
            updated_at: now,
        }],
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test]
async fn another_network_sees_and_changes_none_of_the_identities() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let email = "ada@example.com";
    let ada = person(email);
    id_store::insert(conn, t.a, &ada).await.unwrap();
    let credential = &ada.credentials[0];
    let verifiable = ada.verifiable_addresses[0].id;
    let mut renamed = ada.clone();
    renamed.traits = json!({ "email": "eve@example.com" });

    let tables = nid_tables(&tables());
    unchanged_by(&t, &tables, async || {
        let b = t.b;
        assert_eq!(id_store::find(conn, b, ada.id).await.unwrap(), None);
        assert!(id_store::list(conn, b, 0, 100).await.unwrap().is_empty());
        assert_eq!(id_store::count(conn, b).await.unwrap(), 0);
        // The export and import readers.
        assert!(
            bulk_store::page_after(conn, b, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            bulk_store::existing(conn, b, &[ada.id])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            bulk_store::count_credentials(conn, b, "password")
                .await
                .unwrap(),
            0
        );
        let by_identifier = id_store::find_id_by_identifier(conn, b, "password", email);
        assert_eq!(by_identifier.await.unwrap(), None);
        assert_eq!(
            id_store::find_recovery_address(conn, b, email)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            id_store::find_verifiable_address(conn, b, email)
                .await
                .unwrap(),
            None
        );
        assert!(!id_store::replace(conn, b, &renamed).await.unwrap());
        assert!(
            !id_store::mark_address_verified(conn, b, verifiable, now())
                .await
                .unwrap()
        );
        id_store::mark_address_sent(conn, b, verifiable, now())
            .await
            .unwrap();
        let config = json!({ "hashed_password": "stolen" });
        id_store::update_credential_config(conn, b, credential.id, &config, now())
            .await
            .unwrap();
        let swapped = credential_store::swap_config(
            conn,
            b,
            credential.id,
            &credential.config,
            &config,
            now(),
        );
        assert!(!swapped.await.unwrap());
        assert!(
            !credential_store::delete(conn, b, ada.id, "password")
                .await
                .unwrap()
        );
        assert!(!id_store::delete(conn, b, ada.id).await.unwrap());
    })
    .await;

    // The same calls as A reach the rows: the probes above could succeed.
    assert_eq!(
        id_store::find(conn, t.a, ada.id).await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        id_store::list(conn, t.a, 0, 100).await.unwrap(),
        vec![ada.clone()]
    );
    assert_eq!(id_store::count(conn, t.a).await.unwrap(), 1);
    let page = bulk_store::page_after(conn, t.a, None, 100).await.unwrap();
    assert_eq!(page, vec![ada.clone()]);
    assert_eq!(
        bulk_store::existing(conn, t.a, &[ada.id]).await.unwrap(),
        vec![ada.id]
    );
    assert_eq!(
        bulk_store::count_credentials(conn, t.a, "password")
            .await
            .unwrap(),
        1
    );
    // Ids are global keys: an import into B must not reuse A's.
    let elsewhere = bulk_store::any_used_elsewhere(conn, t.b, &[ada.id])
        .await
        .unwrap();
    assert_eq!(elsewhere, Some(ada.id));
    assert_eq!(
        bulk_store::any_used_elsewhere(conn, t.a, &[ada.id])
            .await
            .unwrap(),
        None
    );
    let by_identifier = id_store::find_id_by_identifier(conn, t.a, "password", email);
    assert_eq!(by_identifier.await.unwrap(), Some(ada.id));
    let recovery = id_store::find_recovery_address(conn, t.a, email)
        .await
        .unwrap();
    assert_eq!(recovery.map(|(identity, _)| identity), Some(ada.id));
    assert!(
        id_store::find_verifiable_address(conn, t.a, email)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        id_store::mark_address_verified(conn, t.a, verifiable, now())
            .await
            .unwrap()
    );
    assert!(id_store::replace(conn, t.a, &renamed).await.unwrap());
    assert!(
        credential_store::delete(conn, t.a, ada.id, "password")
            .await
            .unwrap()
    );
    assert!(id_store::delete(conn, t.a, ada.id).await.unwrap());
    assert_eq!(id_store::count(conn, t.a).await.unwrap(), 0);
}

/// Two networks may hold the same identifier: each finds its own.
#[tokio::test]
async fn the_same_identifier_in_two_networks_is_two_identities() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let (in_a, in_b) = (person("same@example.com"), person("same@example.com"));
    id_store::insert(conn, t.a, &in_a).await.unwrap();
    id_store::insert(conn, t.b, &in_b).await.unwrap();
    for (nid, id) in [(t.a, in_a.id), (t.b, in_b.id)] {
        let found = id_store::find_id_by_identifier(conn, nid, "password", "same@example.com");
        assert_eq!(found.await.unwrap(), Some(id));
        assert_eq!(id_store::list(conn, nid, 0, 10).await.unwrap().len(), 1);
    }
    assert!(id_store::delete(conn, t.a, in_a.id).await.unwrap());
    assert_eq!(
        id_store::find(conn, t.b, in_b.id).await.unwrap(),
        Some(in_b)
    );
}
