//! Subscriptions under the built-in provider (no Stripe key): plans set
//! directly, Checkout that needs no payment, plan changes (up at once, down
//! at the end of the period, moved there with a manual clock), quotas that
//! follow the plan, who may do what, and bad input. The Stripe path is in
//! `billing_stripe.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use kernel::clock::ManualClock;
use keyplane_server::RunningServer;
use ory_client::models::{NullPlan, Subscription, subscription::CurrentPlanEnum};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

async fn my_id(server: &RunningServer, token: &str) -> String {
    let (status, me) = call(server, token, Method::GET, "/me", None).await;
    assert_eq!(status, 200, "{me}");
    me["id"].as_str().unwrap().to_owned()
}

/// The subscription as the published SDK reads it.
fn sdk(body: &Value) -> Subscription {
    serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn seats(server: &RunningServer, token: &str, project: &str) -> u64 {
    let (status, quota) = call(
        server,
        token,
        Method::GET,
        &format!("/projects/{project}/quotas/members"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{quota}");
    quota["total_seats"].as_u64().unwrap()
}

#[tokio::test]
async fn a_mock_subscription_sets_the_plan_and_the_quotas_follow() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "mock plan").await;
    let p = project.id.as_str();
    let me = my_id(&server, &owner).await;
    assert_eq!(seats(&server, &owner, p).await, 3, "free plan");

    // Only for oneself, only a real plan.
    let (status, err) = call(
        &server,
        &owner,
        Method::POST,
        "/subscriptions/mock",
        Some(json!({ "plan_or_price": "start_up_monthly", "identity_id": uuid::Uuid::new_v4() })),
    )
    .await;
    assert_eq!(status, 403, "{err}");
    for bad in [json!("enterprise"), json!("unknown"), json!(42)] {
        let (status, err) = call(
            &server,
            &owner,
            Method::POST,
            "/subscriptions/mock",
            Some(json!({ "plan_or_price": bad, "identity_id": me })),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(err["error"]["message"].is_string(), "{err}");
    }
    assert_eq!(
        seats(&server, &owner, p).await,
        3,
        "refusals change nothing"
    );

    let (status, body) = call(
        &server,
        &owner,
        Method::POST,
        "/subscriptions/mock",
        Some(json!({ "plan_or_price": "start_up_monthly", "identity_id": me })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let sub = sdk(&body);
    assert_eq!(sub.current_plan, CurrentPlanEnum::StartUpMonthly);
    assert_eq!(sub.status, "active");
    assert_eq!(sub.plan_changes_to, NullPlan::StartUpMonthly);
    assert!(sub.plan_changes_at.is_none());
    assert!(sub.customer_id.starts_with("local_"), "{body}");
    assert_eq!(seats(&server, &owner, p).await, 10, "start-up plan");

    // The project lists its subscription; the customer is stable.
    let listed = ory_client::apis::v0alpha2_api::list_projects(&cp)
        .await
        .unwrap();
    assert_eq!(listed[0].subscription_id.as_deref(), Some(sub.id.as_str()));
    let (status, customer) = call(&server, &owner, Method::GET, "/stripe/customer", None).await;
    assert_eq!(
        (status, customer["id"].as_str()),
        (200, Some(sub.customer_id.as_str()))
    );

    // Read back with the SDK model; nobody else can see it.
    let path = format!("/subscriptions/{}", sub.id);
    let (status, got) = call(&server, &owner, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(sdk(&got), sub);
    let stranger = token_for(&server, "stranger@example.com").await;
    let (status, _) = call(&server, &stranger, Method::GET, &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        &stranger,
        Method::PUT,
        &path,
        Some(json!({ "plan_or_price": "free" })),
    )
    .await;
    assert_eq!(status, 404);

    // Without a Stripe webhook secret the endpoint does not exist.
    let res = keyplane_tests::client()
        .post(format!("{}/billing/webhooks/stripe", server.url()))
        .header("Stripe-Signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    server.stop().await;
}

#[tokio::test]
async fn moving_up_applies_at_once_and_moving_down_at_the_end_of_the_period() {
    let clock = ManualClock::starting_now();
    let server = keyplane_tests::spawn_with_clock(
        keyplane_tests::test_settings().await,
        Arc::new(clock.clone()),
    )
    .await;
    let owner = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &owner);
    let project = create_project(&cp, "changes").await;
    let p = project.id.as_str();

    let (status, body) = call(
        &server,
        &owner,
        Method::POST,
        "/subscriptions",
        Some(json!({
            "plan_or_price": "start_up_monthly",
            "provision_first_project": p,
            "return_to": "https://console.example.com/billing/done"
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Nothing to pay under the built-in provider: back to return_to.
    assert_eq!(
        body["checkout_url"],
        "https://console.example.com/billing/done"
    );
    let sub = sdk(&body);
    assert_eq!(sub.current_plan, CurrentPlanEnum::StartUpMonthly);
    let path = format!("/subscriptions/{}", sub.id);
    let put = |plan: &'static str| {
        let (server, owner, path) = (&server, &owner, path.clone());
        async move {
            let (status, body) = call(
                server,
                owner,
                Method::PUT,
                &path,
                Some(json!({ "plan_or_price": plan })),
            )
            .await;
            assert_eq!(status, 200, "{plan}: {body}");
            sdk(&body)
        }
    };

    // Up: now.
    let up = put("custom").await;
    assert_eq!(up.current_plan, CurrentPlanEnum::Custom);
    assert_eq!(up.plan_changes_to, NullPlan::Custom);
    assert_eq!(seats(&server, &owner, p).await, 50);

    // Down: at the end of the paid period; quotas stay until then.
    let down = put("start_up_yearly").await;
    assert_eq!(down.current_plan, CurrentPlanEnum::Custom);
    assert_eq!(down.plan_changes_to, NullPlan::StartUpYearly);
    assert_eq!(
        down.plan_changes_at.as_deref(),
        Some(down.payed_until.as_str())
    );
    // Changing one's mind: back to the current plan clears it.
    let kept = put("custom").await;
    assert!(kept.plan_changes_at.is_none());
    let down = put("start_up_monthly").await;
    assert_eq!(down.plan_changes_to, NullPlan::StartUpMonthly);

    let billing = &server.services.control_plane.billing;
    assert_eq!(billing.sweep().await.unwrap(), 0, "nothing is due yet");
    assert_eq!(seats(&server, &owner, p).await, 50);
    clock.advance(chrono::Duration::days(31));
    assert_eq!(billing.sweep().await.unwrap(), 1);
    // The sweep's change is in the project's log, made by the system.
    let (status, log) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/audit-log?action=subscription."),
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let newest = &log["events"][0];
    assert_eq!(newest["actor"]["type"], "system", "{log}");
    assert!(newest["diff"].to_string().contains("current_plan"), "{log}");
    let (_, got) = call(&server, &owner, Method::GET, &path, None).await;
    let got = sdk(&got);
    assert_eq!(got.current_plan, CurrentPlanEnum::StartUpMonthly);
    assert!(got.plan_changes_at.is_none());
    assert_eq!(seats(&server, &owner, p).await, 10);

    // Down to free: the subscription ends with the period, the project
    // keeps running on the free plan.
    let to_free = put("free").await;
    assert_eq!(to_free.plan_changes_to, NullPlan::Free);
    clock.advance(chrono::Duration::days(1));
    assert_eq!(billing.sweep().await.unwrap(), 1);
    let (_, got) = call(&server, &owner, Method::GET, &path, None).await;
    assert_eq!(got["status"], "canceled");
    assert_eq!(got["current_plan"], "free");
    assert_eq!(seats(&server, &owner, p).await, 3);
    let (status, project) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}"),
        None,
    )
    .await;
    assert_eq!((status, project["state"].as_str()), (200, Some("running")));
    // A canceled subscription changes plans no more.
    let (status, err) = call(
        &server,
        &owner,
        Method::PUT,
        &path,
        Some(json!({ "plan_or_price": "custom" })),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    server.stop().await;
}

#[tokio::test]
async fn buying_checks_who_asks_and_what_they_ask_for() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "checks").await;
    let p = project.id.as_str();
    let buy = |token: String, body: Value| {
        let server = &server;
        async move { call(server, &token, Method::POST, "/subscriptions", Some(body)).await }
    };
    for (body, status) in [
        (
            json!({ "plan_or_price": "free", "provision_first_project": p }),
            400,
        ),
        (
            json!({ "plan_or_price": "gold", "provision_first_project": p }),
            400,
        ),
        (
            json!({ "plan_or_price": "custom", "provision_first_project": p, "return_to": "javascript:alert(1)" }),
            400,
        ),
        (
            json!({ "plan_or_price": "custom", "provision_first_project": p, "return_to": "/relative" }),
            400,
        ),
        (json!({ "plan_or_price": "custom" }), 400),
        (
            json!({ "plan_or_price": "custom", "provision_first_project": "not-a-uuid" }),
            400,
        ),
        (
            json!({ "plan_or_price": "custom", "provision_first_project": p, "extra": 1 }),
            400,
        ),
        (
            json!({ "plan_or_price": "custom", "provision_first_project": uuid::Uuid::new_v4() }),
            404,
        ),
    ] {
        let (got, err) = buy(owner.clone(), body.clone()).await;
        assert_eq!(got, status, "{body}: {err}");
        assert!(err["error"]["code"].is_number(), "{err}");
    }
    assert_eq!(
        seats(&server, &owner, p).await,
        3,
        "refusals change nothing"
    );

    // A developer may not buy; a project key may not either.
    let (_, dev) = sign_up(&server, "dev@example.com").await;
    add_member(&server, &owner, p, "dev@example.com", &dev).await;
    let (status, _) = call(
        &server,
        &owner,
        Method::PUT,
        &format!("/projects/{p}/members/{}", my_id(&server, &dev).await),
        Some(json!({ "role": "DEVELOPER" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, err) = buy(
        dev.clone(),
        json!({ "plan_or_price": "custom", "provision_first_project": p }),
    )
    .await;
    assert_eq!(status, 403, "{err}");
    let (status, key) = call(
        &server,
        &owner,
        Method::POST,
        &format!("/projects/{p}/tokens"),
        Some(json!({ "name": "ci" })),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let (status, _) = buy(
        key["value"].as_str().unwrap().to_owned(),
        json!({ "plan_or_price": "custom", "provision_first_project": p }),
    )
    .await;
    assert_eq!(status, 403);

    let (status, body) = buy(
        owner.clone(),
        json!({ "plan_or_price": "custom", "provision_first_project": p }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(seats(&server, &owner, p).await, 50);
    // One subscription per project: the next change is a PUT.
    let (status, err) = buy(
        owner.clone(),
        json!({ "plan_or_price": "start_up_monthly", "provision_first_project": p }),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    server.stop().await;
}
