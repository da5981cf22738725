//! `billing::stripe::StripeProvider` against the local Stripe fake
//! (`keyplane_tests::stripe_fake`): what it sends (checked on the fake's
//! recorded form parameters), how it reads Stripe's answers, how failures
//! are sorted (refused vs unavailable); and webhook events built by the
//! fake's builders and signer, verified by `billing::verify_event`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing::stripe::StripeProvider;
use billing::{
    BillingSettings, CheckoutRequest, EventKind, PaymentProvider, PriceChange, ProviderError,
    RemoteSubscription, WebhookError, verify_event,
};
use chrono::{DateTime, Utc};
use keyplane_tests::free_port;
use keyplane_tests::stripe_fake::{StripeFake, event_json, now, sign};
use uuid::Uuid;

const KEY: &str = "sk_test_fake_51AbCdEf";
const WEBHOOK_SECRET: &str = "whsec_fake_0123456789";
const MONTHLY: &str = "price_startup_monthly";
const YEARLY: &str = "price_startup_yearly";

fn settings(url: &str, key: &str) -> BillingSettings {
    BillingSettings {
        stripe_secret_key: key.into(),
        stripe_webhook_secret: WEBHOOK_SECRET.into(),
        stripe_api_url: Some(url.into()),
        ..BillingSettings::default()
    }
}

fn provider(fake: &StripeFake) -> StripeProvider {
    StripeProvider::new(&settings(&fake.url(), KEY)).unwrap()
}

fn checkout_request(customer_id: &str) -> CheckoutRequest {
    CheckoutRequest {
        customer_id: customer_id.into(),
        price_id: MONTHLY.into(),
        success_url: "https://console.example/billing?done=1".into(),
        cancel_url: "https://console.example/billing?cancelled=1".into(),
        subscription_id: Uuid::new_v4(),
        project_id: Uuid::new_v4(),
    }
}

/// A customer, a Checkout session and the subscription the buyer's payment
/// created.
async fn subscribed(fake: &StripeFake, provider: &StripeProvider) -> (CheckoutRequest, String) {
    let customer = provider
        .create_customer(Uuid::new_v4(), Some("ada@example.com"))
        .await
        .unwrap();
    let request = checkout_request(&customer);
    let checkout = provider.create_checkout(&request).await.unwrap();
    let subscription = fake.complete_checkout(&checkout.id);
    (request, subscription)
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

#[tokio::test]
async fn creates_a_customer_with_our_account_id() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let account = Uuid::new_v4();

    let id = provider
        .create_customer(account, Some("ada@example.com"))
        .await
        .unwrap();
    let customer = fake.customer(&id).unwrap();
    assert_eq!(customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        customer.metadata.get("keyplane_account_id"),
        Some(&account.to_string())
    );

    let request = fake.requests().pop().unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/customers")
    );

    // Without an email none is sent.
    let id = provider.create_customer(account, None).await.unwrap();
    assert_eq!(fake.customer(&id).unwrap().email, None);
    assert_eq!(fake.requests().pop().unwrap().param("email"), None);
}

#[tokio::test]
async fn checkout_is_a_subscription_session_carrying_our_ids() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let customer = provider
        .create_customer(Uuid::new_v4(), None)
        .await
        .unwrap();
    let request = checkout_request(&customer);

    let checkout = provider.create_checkout(&request).await.unwrap();
    assert!(checkout.id.starts_with("cs_test_"), "{checkout:?}");
    assert_eq!(
        checkout.url,
        format!("https://checkout.stripe.com/c/pay/{}", checkout.id)
    );

    let sent = fake.requests().pop().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    let sub = request.subscription_id.to_string();
    let project = request.project_id.to_string();
    for (key, value) in [
        ("mode", "subscription"),
        ("customer", customer.as_str()),
        ("line_items[0][price]", MONTHLY),
        ("line_items[0][quantity]", "1"),
        ("success_url", request.success_url.as_str()),
        ("cancel_url", request.cancel_url.as_str()),
        ("client_reference_id", sub.as_str()),
        ("metadata[keyplane_subscription_id]", sub.as_str()),
        ("metadata[keyplane_project_id]", project.as_str()),
        (
            "subscription_data[metadata][keyplane_subscription_id]",
            sub.as_str(),
        ),
        (
            "subscription_data[metadata][keyplane_project_id]",
            project.as_str(),
        ),
    ] {
        assert_eq!(sent.param(key), Some(value), "{key} in {:?}", sent.params);
    }

    // The subscription Stripe creates carries our ids too.
    let stripe_sub = fake.complete_checkout(&checkout.id);
    let remote = provider.subscription(&stripe_sub).await.unwrap();
    assert_eq!(
        remote.keyplane_subscription_id,
        Some(request.subscription_id)
    );
}

#[tokio::test]
async fn reads_a_subscription() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let (request, id) = subscribed(&fake, &provider).await;
    let stored = fake.subscription(&id).unwrap();

    let remote = provider.subscription(&id).await.unwrap();
    assert_eq!(
        remote,
        RemoteSubscription {
            id: id.clone(),
            customer_id: request.customer_id.clone(),
            status: "active".into(),
            item_id: Some(stored.item_id.clone()),
            price_id: Some(MONTHLY.into()),
            current_period_end: at(stored.current_period_end),
            cancel_at_period_end: false,
            keyplane_subscription_id: Some(request.subscription_id),
        }
    );
    let sent = fake.requests().pop().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path),
        ("GET", format!("/v1/subscriptions/{id}"))
    );

    fake.set_subscription_status(&id, "past_due");
    assert_eq!(provider.subscription(&id).await.unwrap().status, "past_due");
}

#[tokio::test]
async fn changes_the_price_with_or_without_proration() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let (_, id) = subscribed(&fake, &provider).await;
    let remote = provider.subscription(&id).await.unwrap();
    let item = remote.item_id.clone().unwrap();

    let upgraded = provider
        .change_price(&remote, YEARLY, PriceChange::Immediately)
        .await
        .unwrap();
    assert_eq!(upgraded.price_id.as_deref(), Some(YEARLY));
    assert_eq!(upgraded.item_id.as_deref(), Some(item.as_str()));
    let sent = fake.requests().pop().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path.clone()),
        ("POST", format!("/v1/subscriptions/{id}"))
    );
    assert_eq!(sent.param("items[0][id]"), Some(item.as_str()));
    assert_eq!(sent.param("items[0][price]"), Some(YEARLY));
    assert_eq!(sent.param("proration_behavior"), Some("create_prorations"));

    let downgraded = provider
        .change_price(&upgraded, MONTHLY, PriceChange::WithoutProration)
        .await
        .unwrap();
    assert_eq!(downgraded.price_id.as_deref(), Some(MONTHLY));
    let sent = fake.requests().pop().unwrap();
    assert_eq!(sent.param("items[0][price]"), Some(MONTHLY));
    assert_eq!(sent.param("proration_behavior"), Some("none"));
    assert_eq!(fake.subscription(&id).unwrap().price, MONTHLY);
}

#[tokio::test]
async fn sets_and_clears_cancel_at_period_end() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let (_, id) = subscribed(&fake, &provider).await;

    let remote = provider.cancel_at_period_end(&id, true).await.unwrap();
    assert!(remote.cancel_at_period_end);
    assert_eq!(
        fake.requests().pop().unwrap().param("cancel_at_period_end"),
        Some("true")
    );
    assert!(fake.subscription(&id).unwrap().cancel_at_period_end);

    let remote = provider.cancel_at_period_end(&id, false).await.unwrap();
    assert!(!remote.cancel_at_period_end);
    assert_eq!(
        fake.requests().pop().unwrap().param("cancel_at_period_end"),
        Some("false")
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    let fake = StripeFake::start(KEY).await;
    let provider = StripeProvider::new(&settings(&fake.url(), "sk_test_wrong")).unwrap();
    let result = provider.create_customer(Uuid::new_v4(), None).await;
    assert!(
        matches!(&result, Err(ProviderError::Refused(m)) if m.contains("Invalid API Key")),
        "{result:?}"
    );
    // The key never shows in what the caller gets.
    assert!(!format!("{result:?}").contains("sk_test_wrong"));
}

#[tokio::test]
async fn an_unknown_subscription_is_refused() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let result = provider.subscription("sub_nope").await;
    assert!(
        matches!(&result, Err(ProviderError::Refused(m)) if m.contains("No such subscription")),
        "{result:?}"
    );
    let result = provider.cancel_at_period_end("sub_nope", true).await;
    assert!(
        matches!(result, Err(ProviderError::Refused(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_id_that_would_leave_the_path_is_refused_unsent() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    for id in [
        "",
        "../customers",
        "sub_1?expand[]=customer",
        "sub_1/cancel",
    ] {
        let result = provider.subscription(id).await;
        assert!(
            matches!(result, Err(ProviderError::Refused(_))),
            "{id:?}: {result:?}"
        );
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    fake.fail_with(Some(500));
    let result = provider.create_customer(Uuid::new_v4(), None).await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
    fake.fail_with(None);
    assert!(provider.create_customer(Uuid::new_v4(), None).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable() {
    // Nobody listens on the port.
    let unreachable =
        StripeProvider::new(&settings(&format!("http://127.0.0.1:{}", free_port()), KEY)).unwrap();
    let result = unreachable.subscription("sub_1").await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );

    // A fake that was up and then stopped.
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    assert!(provider.create_customer(Uuid::new_v4(), None).await.is_ok());
    fake.stop();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let result = provider.create_customer(Uuid::new_v4(), None).await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
}

#[test]
fn bad_settings_are_reported_without_the_key() {
    let mut settings = settings("http://127.0.0.1:1", "sk_test_with\nnewline");
    let error = StripeProvider::new(&settings).unwrap_err();
    assert!(error.contains("stripe_secret_key"), "{error}");
    assert!(!error.contains("sk_test"), "{error}");
    settings.stripe_secret_key = String::new();
    assert!(StripeProvider::new(&settings).is_err());
}

// ------------------------------------------------------------- webhooks

fn verify(payload: &str) -> Result<billing::StripeEvent, WebhookError> {
    let t = now();
    verify_event(
        payload,
        &sign(payload, WEBHOOK_SECRET, t),
        WEBHOOK_SECRET,
        Utc::now(),
    )
}

#[tokio::test]
async fn the_fakes_events_verify_into_our_event_kinds() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let customer = provider
        .create_customer(Uuid::new_v4(), None)
        .await
        .unwrap();
    let request = checkout_request(&customer);
    let checkout = provider.create_checkout(&request).await.unwrap();
    let sub_id = fake.complete_checkout(&checkout.id);
    let created = now();

    let event = verify(&event_json(
        "evt_checkout",
        "checkout.session.completed",
        created,
        fake.checkout_session_json(&checkout.id),
    ))
    .unwrap();
    assert_eq!(event.id, "evt_checkout");
    assert_eq!(event.created.timestamp(), created);
    assert_eq!(event.event_type, "checkout.session.completed");
    assert_eq!(
        event.kind,
        EventKind::CheckoutCompleted {
            checkout_id: checkout.id.clone(),
            subscription_ref: Some(request.subscription_id),
            customer_id: Some(customer.clone()),
            stripe_subscription_id: Some(sub_id.clone()),
        }
    );

    // The webhook and the API read a subscription the same way.
    let remote = provider.subscription(&sub_id).await.unwrap();
    for event_type in [
        "customer.subscription.created",
        "customer.subscription.updated",
    ] {
        let event = verify(&event_json(
            "evt_sub",
            event_type,
            created,
            fake.subscription_json(&sub_id),
        ))
        .unwrap();
        assert_eq!(event.kind, EventKind::SubscriptionChanged(remote.clone()));
    }

    fake.set_subscription_status(&sub_id, "canceled");
    let event = verify(&event_json(
        "evt_deleted",
        "customer.subscription.deleted",
        created,
        fake.subscription_json(&sub_id),
    ))
    .unwrap();
    let EventKind::SubscriptionDeleted(deleted) = event.kind else {
        panic!("{event:?}");
    };
    assert_eq!(deleted.status, "canceled");
    assert_eq!(
        deleted.keyplane_subscription_id,
        Some(request.subscription_id)
    );

    let period_end = created + 60 * 86_400;
    let event = verify(&event_json(
        "evt_paid",
        "invoice.paid",
        created,
        fake.invoice_json(&sub_id, period_end, true),
    ))
    .unwrap();
    assert_eq!(
        event.kind,
        EventKind::InvoicePaid {
            stripe_subscription_id: Some(sub_id.clone()),
            paid_until: at(period_end),
        }
    );

    let event = verify(&event_json(
        "evt_failed",
        "invoice.payment_failed",
        created,
        fake.invoice_json(&sub_id, period_end, false),
    ))
    .unwrap();
    assert_eq!(
        event.kind,
        EventKind::InvoicePaymentFailed {
            stripe_subscription_id: Some(sub_id.clone()),
        }
    );

    let event = verify(&event_json(
        "evt_other",
        "customer.updated",
        created,
        serde_json::json!({ "id": customer, "object": "customer" }),
    ))
    .unwrap();
    assert_eq!(event.kind, EventKind::Ignored);
}

#[tokio::test]
async fn the_fakes_signatures_are_checked() {
    let fake = StripeFake::start(KEY).await;
    let provider = provider(&fake);
    let (_, sub_id) = subscribed(&fake, &provider).await;
    let payload = event_json(
        "evt_1",
        "customer.subscription.updated",
        now(),
        fake.subscription_json(&sub_id),
    );
    let t = now();

    let other_secret = sign(&payload, "whsec_other", t);
    assert_eq!(
        verify_event(&payload, &other_secret, WEBHOOK_SECRET, Utc::now()),
        Err(WebhookError::BadSignature)
    );
    let header = sign(&payload, WEBHOOK_SECRET, t);
    let tampered = payload.replace("\"active\"", "\"canceled\"");
    assert_ne!(tampered, payload);
    assert_eq!(
        verify_event(&tampered, &header, WEBHOOK_SECRET, Utc::now()),
        Err(WebhookError::BadSignature)
    );
    let stale = sign(&payload, WEBHOOK_SECRET, t - 301);
    assert_eq!(
        verify_event(&payload, &stale, WEBHOOK_SECRET, at(t).unwrap()),
        Err(WebhookError::StaleTimestamp)
    );
    assert_eq!(
        verify_event(&payload, "", WEBHOOK_SECRET, Utc::now()),
        Err(WebhookError::MissingSignature)
    );
}
