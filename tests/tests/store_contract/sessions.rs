//! The session store.

use super::identities::person;
use super::{Tenants, name, nid_tables, now, unchanged_by};
use chrono::Duration;
use identity::identity::store as id_store;
use identity::session::model::{AuthenticationMethod, Session};
use identity::session::store::{self as sessions_store, SessionFilter};
use store::entity::sessions;
use uuid::Uuid;

pub fn tables() -> Vec<&'static str> {
    vec![name::<sessions::Entity>()]
}

#[tokio::test]
async fn another_network_sees_and_changes_none_of_the_sessions() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let ada = person("ada@example.com");
    id_store::insert(conn, t.a, &ada).await.unwrap();
    let now = now();
    let session = Session {
        id: Uuid::now_v7(),
        identity_id: ada.id,
        active: true,
        aal: "aal1".into(),
        authentication_methods: vec![AuthenticationMethod {
            method: "password".into(),
            aal: "aal1".into(),
            completed_at: now,
        }],
        issued_at: now,
        authenticated_at: now,
        expires_at: now + Duration::hours(1),
    };
    sessions_store::insert(conn, t.a, &session, "token-hash-of-a")
        .await
        .unwrap();
    let all = SessionFilter::default();
    let mut stronger = session.clone();
    stronger.aal = "aal2".into();

    let tables = nid_tables(&tables());
    unchanged_by(&t, &tables, async || {
        let b = t.b;
        let by_token = sessions_store::find_by_token_hash(conn, b, "token-hash-of-a");
        assert_eq!(by_token.await.unwrap(), None);
        assert_eq!(
            sessions_store::find(conn, b, session.id).await.unwrap(),
            None
        );
        let listed = sessions_store::list_for_identity(conn, b, ada.id, all, 0, 100);
        assert!(listed.await.unwrap().is_empty());
        let counted = sessions_store::count_for_identity(conn, b, ada.id, all);
        assert_eq!(counted.await.unwrap(), 0);
        let hashes = sessions_store::token_hashes(conn, b, ada.id, all, None);
        assert!(hashes.await.unwrap().is_empty());
        assert!(
            sessions_store::all_token_hashes(conn, b, ada.id)
                .await
                .unwrap()
                .is_empty()
        );
        let later = now + Duration::days(30);
        assert!(
            !sessions_store::set_expiry(conn, b, session.id, later, now)
                .await
                .unwrap()
        );
        assert!(
            !sessions_store::set_authentication(conn, b, &stronger, now)
                .await
                .unwrap()
        );
        let deactivated = sessions_store::deactivate(conn, b, ada.id, None, None, now);
        assert_eq!(deactivated.await.unwrap(), 0);
        assert_eq!(
            sessions_store::delete_for_identity(conn, b, ada.id)
                .await
                .unwrap(),
            0
        );
    })
    .await;

    let a = t.a;
    let by_token = sessions_store::find_by_token_hash(conn, a, "token-hash-of-a");
    assert_eq!(by_token.await.unwrap(), Some(session.clone()));
    let listed = sessions_store::list_for_identity(conn, a, ada.id, all, 0, 100);
    assert_eq!(listed.await.unwrap(), vec![session.clone()]);
    assert_eq!(
        sessions_store::count_for_identity(conn, a, ada.id, all)
            .await
            .unwrap(),
        1
    );
    assert!(
        sessions_store::set_authentication(conn, a, &stronger, now)
            .await
            .unwrap()
    );
    assert_eq!(
        sessions_store::deactivate(conn, a, ada.id, None, None, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        sessions_store::delete_for_identity(conn, a, ada.id)
            .await
            .unwrap(),
        1
    );
}
