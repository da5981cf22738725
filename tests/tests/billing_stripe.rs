//! Subscriptions paid through Stripe: a local fake of Stripe's API
//! (`keyplane_tests::stripe_fake`) answers the calls async-stripe makes, and
//! webhooks are built and signed in the test as Stripe would send them.
//! The whole lifecycle, replays, events out of order, forged signatures,
//! and deletion past the grace period (with a manual clock).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use kernel::clock::{Clock, ManualClock};
use keyplane_server::RunningServer;
use keyplane_tests::stripe_fake::{self, StripeFake};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

const SECRET_KEY: &str = "sk_test_keyplane";
const WEBHOOK_SECRET: &str = "whsec_keyplane_test";

struct Billing {
    server: RunningServer,
    stripe: StripeFake,
    clock: ManualClock,
    owner: String,
    project: String,
    slug: String,
}

async fn start() -> Billing {
    let stripe = StripeFake::start(SECRET_KEY).await;
    let clock = ManualClock::starting_now();
    let mut settings = keyplane_tests::test_settings().await;
    settings.billing.stripe_secret_key = SECRET_KEY.into();
    settings.billing.stripe_webhook_secret = WEBHOOK_SECRET.into();
    settings.billing.stripe_api_url = Some(stripe.url());
    settings.billing.prices.start_up_monthly = "price_monthly".into();
    settings.billing.prices.start_up_yearly = "price_yearly".into();
    settings.billing.prices.custom = "price_custom".into();
    settings.billing.grace_period_secs = 86_400;
    let server = keyplane_tests::spawn_with_clock(settings, Arc::new(clock.clone())).await;
    let owner = token_for(&server, "owner@example.com").await;
    let project = create_project(&control_plane(&server, &owner), "paid").await;
    Billing {
        server,
        stripe,
        clock,
        owner,
        project: project.id,
        slug: project.slug,
    }
}

impl Billing {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        call(&self.server, &self.owner, method, path, body).await
    }

    /// Posts a webhook signed now (by the server's clock) with `secret`.
    async fn deliver_signed(&self, payload: &str, signature: Option<String>) -> (u16, Value) {
        let mut req = keyplane_tests::client()
            .post(format!("{}/billing/webhooks/stripe", self.server.url()))
            .header("Content-Type", "application/json")
            .body(payload.to_owned());
        if let Some(signature) = signature {
            req = req.header("Stripe-Signature", signature);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// An event created `age` seconds ago, delivered with a good signature.
    async fn deliver(&self, id: &str, kind: &str, age: i64, object: Value) -> (u16, Value) {
        let payload = stripe_fake::event_json(id, kind, self.now() - age, object);
        let signature = stripe_fake::sign(&payload, WEBHOOK_SECRET, self.now());
        self.deliver_signed(&payload, Some(signature)).await
    }

    /// `PUT /subscriptions/{id}`, which must succeed.
    async fn change_plan(&self, id: &str, plan: &str) -> Value {
        let (status, body) = self
            .call(
                Method::PUT,
                &format!("/subscriptions/{id}"),
                Some(json!({ "plan_or_price": plan })),
            )
            .await;
        assert_eq!(status, 200, "{plan}: {body}");
        body
    }

    /// The last change of a subscription the fake Stripe received.
    fn last_update_at_stripe(&self, stripe_sub: &str) -> stripe_fake::RecordedRequest {
        self.stripe
            .requests()
            .into_iter()
            .rfind(|r| r.method == "POST" && r.path == format!("/v1/subscriptions/{stripe_sub}"))
            .expect("the subscription was changed at Stripe")
    }

    async fn subscription(&self, id: &str) -> Value {
        let (status, body) = self
            .call(Method::GET, &format!("/subscriptions/{id}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        // The published SDK reads it.
        serde_json::from_value::<ory_client::models::Subscription>(body.clone())
            .unwrap_or_else(|e| panic!("{e}: {body}"));
        body
    }

    async fn subscription_rows(&self) -> i64 {
        use sea_orm::ConnectionTrait;
        let db = &self.server.services.db;
        let row = db
            .conn
            .query_one_raw(keyplane_tests::statement(
                db,
                "SELECT COUNT(*) AS n FROM subscriptions",
                [],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    async fn project_state(&self) -> String {
        let (_, project) = self
            .call(Method::GET, &format!("/projects/{}", self.project), None)
            .await;
        project["state"].as_str().unwrap().to_owned()
    }

    /// What the tenant's public API answers (401: running, no session).
    async fn tenant_status(&self) -> u16 {
        let (client, base) = tenant_client(&self.server, &self.slug);
        client
            .get(format!("{base}/sessions/whoami"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn seats(&self) -> u64 {
        let (_, quota) = self
            .call(
                Method::GET,
                &format!("/projects/{}/quotas/members", self.project),
                None,
            )
            .await;
        quota["total_seats"].as_u64().unwrap()
    }

    /// Starts a Checkout for `plan`: `(subscription id, checkout session id)`.
    async fn checkout(&self, plan: &str) -> (String, String) {
        let (status, body) = self
            .call(
                Method::POST,
                "/subscriptions",
                Some(json!({
                    "plan_or_price": plan,
                    "provision_first_project": self.project,
                    "return_to": "https://console.example.com/billing"
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["ongoing_stripe_checkout_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Checkout paid at Stripe and its webhook delivered: the Stripe
    /// subscription id.
    async fn pay_checkout(&self, session: &str) -> String {
        let stripe_sub = self.stripe.complete_checkout(session);
        let object = self.stripe.checkout_session_json(session);
        let (status, body) = self
            .deliver(
                &format!("evt_completed_{session}"),
                "checkout.session.completed",
                0,
                object,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        stripe_sub
    }
}

#[tokio::test]
async fn the_whole_lifecycle_from_checkout_to_halt_and_back() {
    let b = start().await;
    assert_eq!(b.tenant_status().await, 401);

    // Checkout: a customer and a session at Stripe, the row incomplete.
    let (id, session) = b.checkout("start_up_monthly").await;
    let sub = b.subscription(&id).await;
    assert_eq!(sub["status"], "incomplete");
    assert_eq!(sub["current_plan"], "free");
    assert_eq!(sub["ongoing_stripe_checkout_id"], session.as_str());
    let requests = b.stripe.requests();
    let customer = requests
        .iter()
        .find(|r| r.path == "/v1/customers")
        .expect("a customer was created");
    assert_eq!(customer.param("email"), Some("owner@example.com"));
    let created = requests
        .iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .expect("a checkout session was created");
    assert_eq!(created.param("mode"), Some("subscription"));
    assert_eq!(created.param("line_items[0][price]"), Some("price_monthly"));
    assert_eq!(created.param("client_reference_id"), Some(id.as_str()));
    assert_eq!(
        created.param("subscription_data[metadata][keyplane_subscription_id]"),
        Some(id.as_str())
    );
    assert_eq!(
        created.param("metadata[keyplane_project_id]"),
        Some(b.project.as_str())
    );
    let (_, customer_view) = b.call(Method::GET, "/stripe/customer", None).await;
    assert_eq!(customer_view["id"], sub["customer_id"]);
    assert_eq!(
        b.stripe
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/customers")
            .count(),
        1,
        "the customer is created once"
    );
    assert_eq!(b.seats().await, 3, "nothing paid yet");

    // Paid: active on the plan, the project on the subscription.
    let stripe_sub = b.pay_checkout(&session).await;
    let sub = b.subscription(&id).await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["current_plan"], "start_up_monthly");
    assert!(sub.get("ongoing_stripe_checkout_id").is_none(), "{sub}");
    let period_end = b
        .stripe
        .subscription(&stripe_sub)
        .unwrap()
        .current_period_end;
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(sub["payed_until"].as_str().unwrap())
            .unwrap()
            .timestamp(),
        period_end
    );
    assert_eq!(b.seats().await, 10);
    let (_, projects) = b.call(Method::GET, "/projects", None).await;
    assert_eq!(projects[0]["subscription_id"], id.as_str());

    // Up to yearly: now, prorated.
    let changed = b.change_plan(&id, "price_yearly").await;
    assert_eq!(changed["current_plan"], "start_up_yearly");
    let update = b.last_update_at_stripe(&stripe_sub);
    assert_eq!(update.param("items[0][price]"), Some("price_yearly"));
    assert_eq!(
        update.param("proration_behavior"),
        Some("create_prorations")
    );
    assert_eq!(
        b.stripe.subscription(&stripe_sub).unwrap().price,
        "price_yearly"
    );

    // A failed payment: past due, still running while Stripe retries.
    let invoice = b.stripe.invoice_json(&stripe_sub, period_end, false);
    let (status, _) = b
        .deliver("evt_failed", "invoice.payment_failed", 0, invoice)
        .await;
    assert_eq!(status, 200);
    assert_eq!(b.subscription(&id).await["status"], "past_due");
    assert_eq!(b.project_state().await, "running");
    assert_eq!(b.tenant_status().await, 401);

    // Retries exhausted: unpaid, the project halts, its tenant answers 503.
    b.stripe.set_subscription_status(&stripe_sub, "unpaid");
    let object = b.stripe.subscription_json(&stripe_sub);
    let (status, _) = b
        .deliver("evt_unpaid", "customer.subscription.updated", 0, object)
        .await;
    assert_eq!(status, 200);
    assert_eq!(b.subscription(&id).await["status"], "unpaid");
    assert_eq!(b.project_state().await, "halted");
    assert_eq!(b.tenant_status().await, 503);
    assert_eq!(b.seats().await, 3, "a lapsed plan gives the free quotas");

    // Paid again: active, running, the period extended.
    b.stripe.set_subscription_status(&stripe_sub, "active");
    let next_end = period_end + stripe_fake::PERIOD_SECS;
    b.stripe.set_period_end(&stripe_sub, next_end);
    let invoice = b.stripe.invoice_json(&stripe_sub, next_end, true);
    let (status, _) = b.deliver("evt_paid", "invoice.paid", 0, invoice).await;
    assert_eq!(status, 200);
    let sub = b.subscription(&id).await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["current_plan"], "start_up_yearly");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(sub["payed_until"].as_str().unwrap())
            .unwrap()
            .timestamp(),
        next_end
    );
    assert_eq!(b.project_state().await, "running");
    assert_eq!(b.tenant_status().await, 401);
    assert_eq!(b.seats().await, 10);
    b.server.stop().await;
}

#[tokio::test]
async fn replayed_and_out_of_order_events_change_nothing_twice() {
    let b = start().await;
    let (id, session) = b.checkout("start_up_yearly").await;
    // The subscription's own event can come before Checkout's.
    let stripe_sub = b.stripe.complete_checkout(&session);
    let object = b.stripe.subscription_json(&stripe_sub);
    let (status, _) = b
        .deliver("evt_created", "customer.subscription.created", 30, object)
        .await;
    assert_eq!(status, 200);
    assert_eq!(b.subscription(&id).await["status"], "active");
    assert_eq!(b.seats().await, 10, "the project is on it already");
    let object = b.stripe.checkout_session_json(&session);
    let (status, _) = b
        .deliver("evt_completed", "checkout.session.completed", 20, object)
        .await;
    assert_eq!(status, 200);
    let settled = b.subscription(&id).await;
    assert_eq!(settled["status"], "active");
    assert!(settled.get("ongoing_stripe_checkout_id").is_none());

    // A replay (same event id) is acknowledged and changes nothing, even
    // when its content would.
    b.stripe.set_subscription_status(&stripe_sub, "unpaid");
    let unpaid = b.stripe.subscription_json(&stripe_sub);
    let (status, body) = b
        .deliver(
            "evt_created",
            "customer.subscription.updated",
            0,
            unpaid.clone(),
        )
        .await;
    assert_eq!((status, &body["replayed"]), (200, &json!(true)));
    assert_eq!(b.subscription(&id).await, settled);

    // Newest first, then an older state: the older one is ignored.
    let (status, _) = b
        .deliver("evt_new", "customer.subscription.updated", 5, unpaid)
        .await;
    assert_eq!(status, 200);
    assert_eq!(b.project_state().await, "halted");
    b.stripe.set_subscription_status(&stripe_sub, "active");
    let stale_active = b.stripe.subscription_json(&stripe_sub);
    let (status, body) = b
        .deliver("evt_old", "customer.subscription.updated", 15, stale_active)
        .await;
    assert_eq!((status, &body["replayed"]), (200, &json!(false)));
    assert_eq!(b.subscription(&id).await["status"], "unpaid");
    assert_eq!(b.project_state().await, "halted");
    // An old failed payment does not undo a newer state either.
    let invoice = b.stripe.invoice_json(&stripe_sub, b.now(), false);
    b.deliver("evt_old_fail", "invoice.payment_failed", 60, invoice)
        .await;
    assert_eq!(b.subscription(&id).await["status"], "unpaid");

    // Events of other types, or of subscriptions that are not ours, are
    // acknowledged.
    let (status, _) = b
        .deliver(
            "evt_other",
            "customer.created",
            0,
            json!({"id": "cus_x", "object": "customer"}),
        )
        .await;
    assert_eq!(status, 200);
    let foreign = b.stripe.invoice_json("sub_not_ours", b.now(), true);
    let (status, _) = b.deliver("evt_foreign", "invoice.paid", 0, foreign).await;
    assert_eq!(status, 200);
    assert_eq!(b.subscription(&id).await["status"], "unpaid");
    b.server.stop().await;
}

#[tokio::test]
async fn forged_stale_or_unsigned_webhooks_are_refused_and_store_nothing() {
    let b = start().await;
    let (id, session) = b.checkout("custom").await;
    b.stripe.complete_checkout(&session);
    let payload = stripe_fake::event_json(
        "evt_forged",
        "checkout.session.completed",
        b.now(),
        b.stripe.checkout_session_json(&session),
    );
    let tampered = payload.replace("\"livemode\":false", "\"livemode\":true");
    assert_ne!(tampered, payload);
    for (what, body, signature) in [
        (
            "wrong secret",
            payload.clone(),
            Some(stripe_fake::sign(&payload, "whsec_forger", b.now())),
        ),
        (
            "stale",
            payload.clone(),
            Some(stripe_fake::sign(&payload, WEBHOOK_SECRET, b.now() - 301)),
        ),
        (
            "tampered",
            tampered,
            Some(stripe_fake::sign(&payload, WEBHOOK_SECRET, b.now())),
        ),
        ("garbage header", payload.clone(), Some("v1=abc".to_owned())),
        ("no header", payload.clone(), None),
    ] {
        let (status, err) = b.deliver_signed(&body, signature).await;
        assert_eq!(status, 400, "{what}: {err}");
        assert_eq!(
            err["error"]["id"], "invalid_stripe_webhook",
            "{what}: {err}"
        );
    }
    // Signed but not an event.
    let junk = "{\"not\":\"an event\"}";
    let (status, _) = b
        .deliver_signed(junk, Some(stripe_fake::sign(junk, WEBHOOK_SECRET, b.now())))
        .await;
    assert_eq!(status, 400);
    assert_eq!(b.subscription(&id).await["status"], "incomplete");

    // The refused event id was not recorded: the genuine one applies.
    let signature = stripe_fake::sign(&payload, WEBHOOK_SECRET, b.now());
    let (status, body) = b.deliver_signed(&payload, Some(signature)).await;
    assert_eq!((status, &body["replayed"]), (200, &json!(false)));
    assert_eq!(b.subscription(&id).await["current_plan"], "custom");
    b.server.stop().await;
}

#[tokio::test]
async fn deletion_halts_after_the_grace_period_and_downgrades_wait_for_the_period_end() {
    let b = start().await;
    let (id, session) = b.checkout("start_up_yearly").await;
    let stripe_sub = b.pay_checkout(&session).await;
    let billing = &b.server.services.control_plane.billing;

    // Down to monthly: scheduled, applied by the sweep at the period's end
    // without proration.
    let body = b.change_plan(&id, "start_up_monthly").await;
    assert_eq!(body["current_plan"], "start_up_yearly");
    assert_eq!(body["plan_changes_to"], "start_up_monthly");
    assert_eq!(body["plan_changes_at"], body["payed_until"]);
    b.clock.advance(chrono::Duration::days(31));
    billing.sweep().await.unwrap();
    let update = b.last_update_at_stripe(&stripe_sub);
    assert_eq!(update.param("items[0][price]"), Some("price_monthly"));
    assert_eq!(update.param("proration_behavior"), Some("none"));
    assert_eq!(
        b.subscription(&id).await["current_plan"],
        "start_up_monthly"
    );

    // Deleted at Stripe (not by a move to free): the plan lasts until the
    // paid period and the grace period are over, then the project halts.
    b.stripe.set_subscription_status(&stripe_sub, "canceled");
    let paid_until = b.clock.now().timestamp() + 86_400;
    b.stripe.set_period_end(&stripe_sub, paid_until);
    let object = b.stripe.subscription_json(&stripe_sub);
    let (status, _) = b
        .deliver("evt_deleted", "customer.subscription.deleted", 0, object)
        .await;
    assert_eq!(status, 200);
    assert_eq!(b.subscription(&id).await["status"], "canceled");
    assert_eq!(b.project_state().await, "running");
    b.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::hours(12));
    billing.sweep().await.unwrap();
    assert_eq!(
        b.project_state().await,
        "running",
        "within the grace period"
    );
    b.clock.advance(chrono::Duration::days(1));
    billing.sweep().await.unwrap();
    assert_eq!(b.project_state().await, "halted");
    assert_eq!(b.tenant_status().await, 503);

    // Buying again brings it back.
    let (new_id, session) = b.checkout("start_up_monthly").await;
    assert_ne!(new_id, id);
    b.pay_checkout(&session).await;
    assert_eq!(b.project_state().await, "running");
    assert_eq!(b.tenant_status().await, 401);

    // Down to free: cancelled at the period's end at Stripe; when Stripe
    // deletes it the project stays up on the free plan.
    let body = b.change_plan(&new_id, "free").await;
    assert_eq!(body["plan_changes_to"], "free");
    let new_stripe_sub = b.stripe.session(&session).unwrap().subscription.unwrap();
    assert!(
        b.stripe
            .subscription(&new_stripe_sub)
            .unwrap()
            .cancel_at_period_end
    );
    b.stripe
        .set_subscription_status(&new_stripe_sub, "canceled");
    let object = b.stripe.subscription_json(&new_stripe_sub);
    b.deliver("evt_deleted_2", "customer.subscription.deleted", 0, object)
        .await;
    b.clock.advance(chrono::Duration::days(90));
    billing.sweep().await.unwrap();
    let sub = b.subscription(&new_id).await;
    assert_eq!(
        (sub["status"].as_str(), sub["current_plan"].as_str()),
        (Some("canceled"), Some("free"))
    );
    assert_eq!(b.project_state().await, "running");
    assert_eq!(b.seats().await, 3);
    b.server.stop().await;
}

#[tokio::test]
async fn stripe_failures_leave_nothing_half_made_and_events_are_redelivered() {
    let b = start().await;
    let buy = json!({ "plan_or_price": "start_up_monthly", "provision_first_project": b.project });

    // The customer exists, so the Checkout call is the one that fails.
    let (status, _) = b.call(Method::GET, "/stripe/customer", None).await;
    assert_eq!(status, 200);
    // Stripe down: 503, no subscription left behind.
    b.stripe.fail_with(Some(500));
    let (status, err) = b
        .call(Method::POST, "/subscriptions", Some(buy.clone()))
        .await;
    assert_eq!(status, 503, "{err}");
    // Stripe refusing: 400 with its reason.
    b.stripe.fail_with(Some(400));
    let (status, err) = b
        .call(Method::POST, "/subscriptions", Some(buy.clone()))
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("payment provider"),
        "{err}"
    );
    b.stripe.fail_with(None);
    let (_, projects) = b.call(Method::GET, "/projects", None).await;
    assert!(projects[0]["subscription_id"].is_null(), "{projects}");
    assert_eq!(b.subscription_rows().await, 0, "no row left behind");

    // Stripe down while a completed Checkout is delivered: 503, so Stripe
    // delivers it again; the event was not recorded and applies then.
    let (id, session) = b.checkout("start_up_monthly").await;
    b.stripe.complete_checkout(&session);
    let payload = stripe_fake::event_json(
        "evt_retry",
        "checkout.session.completed",
        b.now(),
        b.stripe.checkout_session_json(&session),
    );
    b.stripe.fail_with(Some(503));
    let signature = stripe_fake::sign(&payload, WEBHOOK_SECRET, b.now());
    let (status, _) = b.deliver_signed(&payload, Some(signature.clone())).await;
    assert_eq!(status, 503);
    assert_eq!(b.subscription(&id).await["status"], "incomplete");
    b.stripe.fail_with(None);
    let (status, body) = b.deliver_signed(&payload, Some(signature)).await;
    assert_eq!((status, &body["replayed"]), (200, &json!(false)));
    assert_eq!(b.subscription(&id).await["status"], "active");
    b.server.stop().await;
}
