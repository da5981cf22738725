//! Invites: the e-mail through the outbox and the courier, its single-use
//! link accepted by the right account only, expiry, cancellation, and the
//! plan's member seats. Accounts sign up through the console's real flows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::json;

async fn invite(
    server: &keyplane_server::RunningServer,
    owner: &str,
    project: &str,
    email: &str,
) -> (u16, serde_json::Value) {
    call(
        server,
        owner,
        Method::POST,
        &format!("/projects/{project}/invites"),
        Some(json!({ "invitee_email": email })),
    )
    .await
}

async fn answer(
    server: &keyplane_server::RunningServer,
    who: &str,
    id: &str,
    token: &str,
    verb: &str,
) -> (u16, serde_json::Value) {
    call(
        server,
        who,
        Method::POST,
        &format!("/invites/{id}/{verb}"),
        Some(json!({ "token": token })),
    )
    .await
}

#[tokio::test]
async fn an_invite_is_mailed_accepted_once_by_the_invitee_only() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "invites").await;
    let p = project.id.clone();
    let (bob_id, bob) = sign_up(&server, "bob@example.com").await;
    let (_, carol) = sign_up(&server, "carol@example.com").await;

    let (status, created) = invite(&server, &owner, &p, "Bob@Example.com").await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["invitee_email"], "bob@example.com");
    assert_eq!(created["owner_email"], "owner@example.com");
    assert_eq!(created["project_id"], p.as_str());
    assert!(created["invitee_id"].is_null());

    // The mail: in the outbox, and delivered by the courier as a file
    // (read from there: the outbox keeps the token redacted).
    let mail = newest_delivered(&server, "bob@example.com").await.unwrap();
    assert!(mail.subject.contains("invites"), "{}", mail.subject);
    assert!(mail.raw.contains("To: bob@example.com"), "{}", mail.raw);
    let (id, token) = invite_link(&mail.text);
    assert_eq!(created["id"], id.as_str());

    // Bob sees it among his invites; the owner among the project's.
    let (_, mine) = call(&server, &bob, Method::GET, "/invites", None).await;
    assert_eq!(mine[0]["id"], id.as_str());
    let (_, listed) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/invites"),
        None,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Someone else, a wrong token, a duplicate invite: refused.
    let (status, err) = answer(&server, &carol, &id, &token, "accept").await;
    assert_eq!(status, 403, "{err}");
    let (status, _) = answer(&server, &bob, &id, "wrong-token", "accept").await;
    assert_eq!(status, 403);
    let (status, _) = answer(
        &server,
        &bob,
        &uuid::Uuid::new_v4().to_string(),
        &token,
        "accept",
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = invite(&server, &owner, &p, "bob@example.com").await;
    assert_eq!(status, 409);

    // Bob accepts: a DEVELOPER now.
    let (status, accepted) = answer(&server, &bob, &id, &token, "accept").await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["invitee_id"], bob_id.as_str());
    let (_, members) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/members"),
        None,
    )
    .await;
    assert_eq!(members[1]["email"], "bob@example.com");
    assert_eq!(members[1]["role"], "DEVELOPER");
    let (status, _) = call(&server, &bob, Method::GET, &format!("/projects/{p}"), None).await;
    assert_eq!(status, 200);

    // The link works once; a member can not be invited again.
    let (status, err) = answer(&server, &bob, &id, &token, "accept").await;
    assert_eq!(status, 409, "{err}");
    let (status, _) = answer(&server, &bob, &id, &token, "decline").await;
    assert_eq!(status, 409);
    let (status, _) = invite(&server, &owner, &p, "bob@example.com").await;
    assert_eq!(status, 409);

    // Bad input.
    for body in [
        json!({}),
        json!({ "invitee_email": "nope" }),
        json!({ "invitee_email": 5 }),
    ] {
        let (status, err) = call(
            &server,
            &owner,
            Method::POST,
            &format!("/projects/{p}/invites"),
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{err}");
    }
    let (status, _) = call(
        &server,
        &bob,
        Method::POST,
        &format!("/invites/{id}/accept"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn declined_cancelled_and_expired_invites() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "lifecycle").await;
    let p = project.id.clone();
    let (_, dave) = sign_up(&server, "dave@example.com").await;
    let (_, erin) = sign_up(&server, "erin@example.com").await;

    // Declined.
    invite(&server, &owner, &p, "dave@example.com").await;
    let (id, token) = invite_link(&newest_mail(&server, "dave@example.com").await.unwrap().1);
    let (status, declined) = answer(&server, &dave, &id, &token, "decline").await;
    assert_eq!(
        (status, declined["status"].as_str()),
        (200, Some("declined"))
    );
    let (status, _) = answer(&server, &dave, &id, &token, "accept").await;
    assert_eq!(status, 409);
    let (status, _) = call(&server, &dave, Method::GET, &format!("/projects/{p}"), None).await;
    assert_eq!(status, 404);

    // Cancelled by the owner.
    invite(&server, &owner, &p, "dave@example.com").await;
    let (id, token) = invite_link(&newest_mail(&server, "dave@example.com").await.unwrap().1);
    let (status, _) = call(
        &server,
        &owner,
        Method::DELETE,
        &format!("/projects/{p}/invites/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &server,
        &owner,
        Method::DELETE,
        &format!("/projects/{p}/invites/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = answer(&server, &dave, &id, &token, "accept").await;
    assert_eq!(status, 409);

    // Expired: six hours later (moved in the database).
    invite(&server, &owner, &p, "erin@example.com").await;
    let (id, token) = invite_link(&newest_mail(&server, "erin@example.com").await.unwrap().1);
    {
        use store::sea_orm::ConnectionTrait;
        let db = &server.services.db;
        let past = chrono::Utc::now() - chrono::Duration::minutes(1);
        db.conn
            .execute_raw(keyplane_tests::statement(
                db,
                "UPDATE project_invites SET expires_at = $1 WHERE id = $2",
                [past.into(), id.parse::<uuid::Uuid>().unwrap().into()],
            ))
            .await
            .unwrap();
    }
    let (_, listed) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/invites"),
        None,
    )
    .await;
    assert_eq!(listed[0]["status"], "expired", "{listed}");
    let (status, err) = answer(&server, &erin, &id, &token, "accept").await;
    assert_eq!(status, 410, "{err}");
    let (status, _) = call(&server, &erin, Method::GET, &format!("/projects/{p}"), None).await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn members_and_pending_invites_use_the_plans_seats() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "seats").await;
    let p = project.id.clone();
    let path = format!("/projects/{p}/quotas/members");
    let seats = |server, owner| {
        let path = path.clone();
        async move { call(server, owner, Method::GET, &path, None).await.1 }
    };
    let quota = seats(&server, &owner).await;
    assert_eq!(quota["project_id"], project.id.as_str());
    assert_eq!(
        (
            quota["total_seats"].as_u64(),
            quota["remaining_seats"].as_u64()
        ),
        (Some(3), Some(2))
    );

    let (_, fay) = sign_up(&server, "fay@example.com").await;
    add_member(&server, &owner, &project.id, "fay@example.com", &fay).await;
    let (status, _) = invite(&server, &owner, &project.id, "gus@example.com").await;
    assert_eq!(status, 201);
    assert_eq!(seats(&server, &owner).await["remaining_seats"], 0);

    // Full: a clear refusal, and nothing stored or mailed.
    let (status, err) = invite(&server, &owner, &project.id, "hal@example.com").await;
    assert_eq!(status, 402, "{err}");
    assert!(
        err["error"]["reason"].as_str().unwrap().contains("seats"),
        "{err}"
    );
    assert!(newest_mail(&server, "hal@example.com").await.is_none());

    // Cancelling the pending invite frees its seat.
    let (_, listed) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{}/invites", project.id),
        None,
    )
    .await;
    let pending = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == "pending")
        .unwrap();
    call(
        &server,
        &owner,
        Method::DELETE,
        &format!(
            "/projects/{}/invites/{}",
            project.id,
            pending["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let (status, _) = invite(&server, &owner, &project.id, "hal@example.com").await;
    assert_eq!(status, 201);
    server.stop().await;
}
