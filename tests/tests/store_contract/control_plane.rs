//! The project-scoped stores of the control plane: invites, members and
//! custom hostnames. Their rows carry `project_id` rather than `nid`, and
//! the same rule holds: another project's id finds and changes nothing.

use super::{Tenants, account, now, scoped, unchanged_by};
use chrono::Duration;
use controlplane::access::Role;
use controlplane::hostname::model::HostnameRow;
use controlplane::hostname::store as hostnames;
use controlplane::invite::store as invites;
use controlplane::invite::{InviteStatus, InviteView};
use controlplane::member::store as members;
use store::entity::{custom_hostnames, project_invites, project_members};
use uuid::Uuid;

#[tokio::test]
async fn another_project_sees_and_changes_none_of_the_invites_members_and_hostnames() {
    let t = Tenants::new().await;
    let conn = t.conn();
    let now = now();
    let owner = account(&t.db, "owner-of-a@example.com").await;
    let developer = account(&t.db, "developer@example.com").await;
    members::insert(conn, t.a, developer, Role::Developer, now)
        .await
        .unwrap();
    let invite = InviteView {
        id: Uuid::now_v7(),
        project_id: t.a,
        owner_id: owner,
        owner_email: "owner-of-a@example.com".into(),
        invitee_email: "invitee@example.com".into(),
        invitee_id: None,
        status: InviteStatus::Pending,
        created_at: now,
        updated_at: now,
        expires_at: now + Duration::days(7),
    };
    invites::insert(conn, &invite, "invite-token-hash")
        .await
        .unwrap();
    let hostname = HostnameRow {
        id: Uuid::now_v7(),
        project_id: t.a,
        hostname: "auth.tenant-a.example".into(),
        cookie_domain: "tenant-a.example".into(),
        cors_enabled: false,
        cors_allowed_origins: vec![],
        verification_status: "pending".into(),
        verification_errors: vec![],
        verified_at: None,
        checked_at: None,
        created_at: now,
        updated_at: now,
    };
    hostnames::insert(conn, &hostname).await.unwrap();
    let mut moved = hostname.clone();
    moved.project_id = t.b;
    moved.cors_enabled = true;

    let tables = [
        scoped::<project_members::Entity>(project_members::Column::ProjectId),
        scoped::<project_invites::Entity>(project_invites::Column::ProjectId),
        scoped::<custom_hostnames::Entity>(custom_hostnames::Column::ProjectId),
    ];
    unchanged_by(&t, &tables, async || {
        let b = t.b;
        assert_eq!(members::role_of(conn, b, developer).await.unwrap(), None);
        assert!(members::list(conn, b).await.unwrap().is_empty());
        assert_eq!(members::count(conn, b, None).await.unwrap(), 0);
        assert!(
            !members::set_role(conn, b, developer, Role::Owner)
                .await
                .unwrap()
        );
        assert!(!members::delete(conn, b, developer).await.unwrap());
        assert_eq!(members::delete_for_project(conn, b).await.unwrap(), 0);

        assert!(invites::list_for_project(conn, b).await.unwrap().is_empty());
        let open = invites::count_open(conn, b, Some("invitee@example.com"), now);
        assert_eq!(open.await.unwrap(), 0);
        assert_eq!(
            invites::mark_removed(conn, b, developer, now)
                .await
                .unwrap(),
            0
        );
        assert_eq!(invites::delete_for_project(conn, b).await.unwrap(), 0);

        assert_eq!(hostnames::find(conn, b, hostname.id).await.unwrap(), None);
        assert!(
            hostnames::list_for_project(conn, b)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(hostnames::count_for_project(conn, b).await.unwrap(), 0);
        assert!(!hostnames::update(conn, &moved).await.unwrap());
        assert!(!hostnames::delete(conn, b, hostname.id).await.unwrap());
    })
    .await;

    let a = t.a;
    assert_eq!(
        members::role_of(conn, a, developer).await.unwrap(),
        Some(Role::Developer)
    );
    assert!(
        members::set_role(conn, a, developer, Role::Viewer)
            .await
            .unwrap()
    );
    assert_eq!(
        invites::list_for_project(conn, a).await.unwrap(),
        vec![invite]
    );
    assert_eq!(
        hostnames::find(conn, a, hostname.id).await.unwrap(),
        Some(hostname.clone())
    );
    assert_eq!(
        hostnames::list_for_project(conn, a).await.unwrap(),
        vec![hostname.clone()]
    );
    assert!(hostnames::delete(conn, a, hostname.id).await.unwrap());
    assert!(members::delete(conn, a, developer).await.unwrap());
}
