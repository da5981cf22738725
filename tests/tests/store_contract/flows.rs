//! Self-service flows, stored flow errors, and the recovery and
//! verification tokens.

use super::identities::person;
use super::{Tenants, name, nid_tables, now, unchanged_by};
use chrono::Duration;
use identity::flow::model::{Flow, FlowKind};
use identity::flow::store as flow_store;
use identity::flow::tokens::{self, NewToken, TokenKind};
use identity::identity::store as id_store;
use serde_json::json;
use store::entity::{
    selfservice_errors, selfservice_flows, selfservice_recovery_tokens,
    selfservice_verification_tokens,
};
use uuid::Uuid;

pub fn tables() -> Vec<&'static str> {
    vec![
        name::<selfservice_flows::Entity>(),
        name::<selfservice_errors::Entity>(),
        name::<selfservice_recovery_tokens::Entity>(),
        name::<selfservice_verification_tokens::Entity>(),
    ]
}

fn login_flow() -> Flow {
    let now = now();
    serde_json::from_value(json!({
        "id": Uuid::now_v7(),
        "type": "browser",
        "expires_at": now + Duration::minutes(30),
        "issued_at": now,
        "request_url": "https://tenant.example/self-service/login/browser",
        "ui": { "action": "https://tenant.example/self-service/login", "method": "POST", "nodes": [] },
        "created_at": now,
        "updated_at": now,
    }))
    .unwrap()
}

#[tokio::test]
async fn another_network_sees_and_changes_none_of_the_flows_errors_and_tokens() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let ada = person("ada@example.com");
    id_store::insert(conn, t.a, &ada).await.unwrap();
    let flow = login_flow();
    flow_store::insert(conn, t.a, FlowKind::Login, Some(ada.id), &flow)
        .await
        .unwrap();
    let error_id = Uuid::now_v7();
    let error = json!({ "code": 500, "message": "the flow broke" });
    flow_store::insert_error(conn, t.a, error_id, &error, now())
        .await
        .unwrap();
    let expires_at = now() + Duration::hours(1);
    let recovery = NewToken {
        kind: TokenKind::Recovery,
        identity_id: ada.id,
        address_id: None,
        flow_id: flow.id,
        token: "recovery-token-of-a",
        expires_at,
    };
    tokens::insert(conn, t.a, recovery, now()).await.unwrap();
    let verification = NewToken {
        kind: TokenKind::Verification,
        identity_id: ada.id,
        address_id: Some(ada.verifiable_addresses[0].id),
        flow_id: flow.id,
        token: "verification-token-of-a",
        expires_at,
    };
    tokens::insert(conn, t.a, verification, now())
        .await
        .unwrap();
    let mut changed = flow.clone();
    changed.return_to = Some("https://evil.example".into());

    let tables = nid_tables(&tables());
    unchanged_by(&t, &tables, async || {
        let b = t.b;
        let found = flow_store::find(conn, b, FlowKind::Login, flow.id);
        assert_eq!(found.await.unwrap(), None);
        flow_store::update(conn, b, &changed).await.unwrap();
        assert_eq!(
            flow_store::find_error(conn, b, error_id).await.unwrap(),
            None
        );
        for (kind, token) in [
            (TokenKind::Recovery, "recovery-token-of-a"),
            (TokenKind::Verification, "verification-token-of-a"),
        ] {
            assert_eq!(
                tokens::claim(conn, kind, b, token, now()).await.unwrap(),
                None
            );
        }
    })
    .await;

    let a = t.a;
    let found = flow_store::find(conn, a, FlowKind::Login, flow.id)
        .await
        .unwrap();
    assert_eq!(found, Some((flow.clone(), Some(ada.id))));
    assert_eq!(
        flow_store::find_error(conn, a, error_id)
            .await
            .unwrap()
            .map(|e| e.0),
        Some(error)
    );
    let claimed = tokens::claim(conn, TokenKind::Recovery, a, "recovery-token-of-a", now());
    assert_eq!(claimed.await.unwrap().map(|c| c.identity_id), Some(ada.id));
    let claimed = tokens::claim(
        conn,
        TokenKind::Verification,
        a,
        "verification-token-of-a",
        now(),
    );
    let claimed = claimed.await.unwrap().unwrap();
    assert_eq!(claimed.address_id, Some(ada.verifiable_addresses[0].id));
    // A flow of one kind is not found as another.
    let as_registration = flow_store::find(conn, a, FlowKind::Registration, flow.id);
    assert_eq!(as_registration.await.unwrap(), None);
}
