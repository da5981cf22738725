//! The courier's outbox and the audit log.

use super::{Tenants, name, nid_tables, now, unchanged_by};
use courier::outbox;
use courier::{Courier, CourierSettings, FileTransport, OutgoingMail};
use kernel::clock::SystemClock;
use kernel::sealed::SecretBox;
use std::sync::Arc;
use store::audit::{self, Change, Filter};
use store::entity::{audit_events, courier_messages};

pub fn tables() -> Vec<&'static str> {
    vec![
        name::<courier_messages::Entity>(),
        name::<audit_events::Entity>(),
    ]
}

#[tokio::test]
async fn another_network_sees_none_of_the_outbox_and_the_audit_log() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let mail_dir = std::env::temp_dir().join(format!("keyplane-contract-{}", t.a));
    let courier = Courier::new(
        t.db.clone(),
        Arc::new(SystemClock),
        Arc::new(FileTransport::new(mail_dir).unwrap()),
        CourierSettings::default(),
        Arc::new(SecretBox::new(&["store-contract-test-key-number-one-0001"]).unwrap()),
    )
    .unwrap();
    let mail = OutgoingMail {
        nid: t.a,
        template_type: "recovery_code_valid".into(),
        recipient: "ada@example.com".into(),
        subject: "Your code".into(),
        body: "Your code is 123456".into(),
        html_body: None,
        secrets: vec!["123456".into()],
    };
    let message = courier.enqueue(conn, &mail).await.unwrap();
    audit::append(conn, Change::project(t.a, "identity.create", "ada"), now())
        .await
        .unwrap();

    let tables = nid_tables(&tables());
    unchanged_by(&t, &tables, async || {
        let b = t.b;
        assert!(outbox::list_for_project(conn, b).await.unwrap().is_empty());
        assert!(
            outbox::due_for_project(conn, b, now(), 100)
                .await
                .unwrap()
                .is_empty()
        );
        let of_b = Filter {
            nid: Some(b),
            ..Filter::default()
        };
        assert!(
            audit::list(conn, &of_b, None, 100)
                .await
                .unwrap()
                .0
                .is_empty()
        );
    })
    .await;

    let a = t.a;
    let listed = outbox::list_for_project(conn, a).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![message]
    );
    let due = outbox::due_for_project(conn, a, now(), 100).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        outbox::due_projects(conn, now(), 100).await.unwrap(),
        vec![a]
    );
    let of_a = Filter {
        nid: Some(a),
        ..Filter::default()
    };
    let (events, _) = audit::list(conn, &of_a, None, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["identity.create"]
    );
}
