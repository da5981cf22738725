//! Signature checks and event reading, on payloads shaped like the ones
//! Stripe sends (API version 2025-03-31 and later: billing periods on the
//! subscription items, the invoice's subscription under `parent`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::{Value, json};
use stripe_webhook::Webhook;

const SECRET: &str = "whsec_test_0123456789abcdef";
const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const PERIOD_END: i64 = NOW + 30 * 86_400;
const OUR_SUBSCRIPTION: &str = "0197a8f2-6b1c-7d3e-9f10-2a3b4c5d6e7f";
const OUR_PROJECT: &str = "0197a8f2-6b1c-7d3e-9f10-000000000001";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap()
}

fn event_payload(event_type: &str, object: Value) -> String {
    json!({
        "id": "evt_1QxYzAbCdEfGhIjK",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": NOW - 5,
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type,
    })
    .to_string()
}

fn signed(payload: &str) -> String {
    Webhook::generate_test_header(payload, SECRET, Some(NOW - 5))
}

fn verify(payload: &str) -> Result<StripeEvent, WebhookError> {
    verify_event(payload, &signed(payload), SECRET, now())
}

fn metadata() -> Value {
    json!({ "keyplane_subscription_id": OUR_SUBSCRIPTION, "keyplane_project_id": OUR_PROJECT })
}

fn price() -> Value {
    json!({
        "id": "price_startup_monthly", "object": "price", "active": true,
        "billing_scheme": "per_unit", "created": NOW - 86_400, "currency": "usd",
        "custom_unit_amount": null, "livemode": false, "lookup_key": null, "metadata": {},
        "nickname": null, "product": "prod_startup",
        "recurring": { "interval": "month", "interval_count": 1, "meter": null,
                       "trial_period_days": null, "usage_type": "licensed" },
        "tax_behavior": "unspecified", "tiers_mode": null, "transform_quantity": null,
        "type": "recurring", "unit_amount": 2900, "unit_amount_decimal": "2900"
    })
}

fn plan() -> Value {
    json!({
        "id": "price_startup_monthly", "object": "plan", "active": true, "amount": 2900,
        "amount_decimal": "2900", "billing_scheme": "per_unit", "created": NOW - 86_400,
        "currency": "usd", "interval": "month", "interval_count": 1, "livemode": false,
        "metadata": {}, "meter": null, "nickname": null, "product": "prod_startup",
        "tiers_mode": null, "transform_usage": null, "trial_period_days": null,
        "usage_type": "licensed"
    })
}

fn subscription(status: &str, cancel_at_period_end: bool) -> Value {
    json!({
        "id": "sub_1QxYz", "object": "subscription", "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": NOW, "billing_cycle_anchor_config": null,
        "billing_mode": { "flexible": null, "type": "classic" }, "billing_schedules": [],
        "billing_thresholds": null, "cancel_at": null,
        "cancel_at_period_end": cancel_at_period_end, "canceled_at": null,
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": "charge_automatically", "created": NOW, "currency": "usd",
        "customer": "cus_RaBcD", "days_until_due": null, "default_payment_method": "pm_1",
        "default_source": null, "default_tax_rates": [], "description": null,
        "discounts": [], "ended_at": null,
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": {
            "object": "list", "has_more": false, "total_count": 1,
            "url": "/v1/subscription_items?subscription=sub_1QxYz",
            "data": [{
                "id": "si_RaBcD", "object": "subscription_item", "billing_thresholds": null,
                "created": NOW, "current_period_end": PERIOD_END, "current_period_start": NOW,
                "discounts": [], "metadata": {}, "plan": plan(), "price": price(),
                "quantity": 1, "subscription": "sub_1QxYz", "tax_rates": []
            }]
        },
        "latest_invoice": "in_1QxYz", "livemode": false, "metadata": metadata(),
        "next_pending_invoice_item_invoice": null, "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": { "payment_method_options": null, "payment_method_types": null,
                              "save_default_payment_method": "off" },
        "pending_invoice_item_interval": null, "pending_setup_intent": null,
        "pending_update": null, "schedule": null, "start_date": NOW, "status": status,
        "test_clock": null, "transfer_data": null, "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null
    })
}

fn checkout_session() -> Value {
    json!({
        "id": "cs_test_a1B2c3", "object": "checkout.session", "after_expiration": null,
        "allow_promotion_codes": null, "amount_subtotal": 2900, "amount_total": 2900,
        "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
        "billing_address_collection": null, "cancel_url": "https://console.example/cancel",
        "client_reference_id": OUR_SUBSCRIPTION, "client_secret": null, "consent": null,
        "consent_collection": null, "created": NOW - 60, "currency": "usd",
        "custom_fields": [],
        "custom_text": { "after_submit": null, "shipping_address": null, "submit": null,
                         "terms_of_service_acceptance": null },
        "customer": "cus_RaBcD", "customer_creation": null,
        "customer_details": { "address": null, "email": "ada@example.com", "name": "Ada",
                              "phone": null, "tax_exempt": "none", "tax_ids": [] },
        "customer_email": null, "expires_at": NOW + 86_400, "invoice": "in_1QxYz",
        "invoice_creation": null, "livemode": false, "locale": null, "metadata": metadata(),
        "mode": "subscription", "payment_intent": null, "payment_link": null,
        "payment_method_collection": "always", "payment_method_types": ["card"],
        "payment_status": "paid", "phone_number_collection": { "enabled": false },
        "recovered_from": null, "setup_intent": null, "shipping_address_collection": null,
        "shipping_cost": null, "shipping_options": [], "status": "complete",
        "submit_type": null, "subscription": "sub_1QxYz",
        "success_url": "https://console.example/success", "total_details": null,
        "ui_mode": "hosted", "url": null
    })
}

fn invoice(status: &str) -> Value {
    let line = |id: &str, start: i64, end: i64| {
        json!({
            "id": id, "object": "line_item", "amount": 2900, "currency": "usd",
            "description": "1 × Start-up (at $29.00 / month)", "discount_amounts": [],
            "discountable": true, "discounts": [], "invoice": "in_1QxYz", "livemode": false,
            "metadata": {},
            "parent": {
                "invoice_item_details": null,
                "subscription_item_details": { "invoice_item": null, "proration": false,
                    "proration_details": { "credited_items": null },
                    "subscription": "sub_1QxYz", "subscription_item": "si_RaBcD" },
                "type": "subscription_item_details"
            },
            "period": { "end": end, "start": start },
            "pricing": { "price_details": { "price": "price_startup_monthly",
                                            "product": "prod_startup" },
                         "type": "price_details", "unit_amount_decimal": "2900" },
            "quantity": 1, "subtotal": 2900, "taxes": []
        })
    };
    json!({
        "id": "in_1QxYz", "object": "invoice", "account_country": "US",
        "account_name": "Keyplane", "amount_due": 2900, "amount_overpaid": 0,
        "amount_paid": if status == "paid" { 2900 } else { 0 },
        "amount_remaining": if status == "paid" { 0 } else { 2900 },
        "amount_shipping": 0, "application": null, "attempt_count": 1, "attempted": true,
        "auto_advance": status != "paid",
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null,
                           "provider": null, "status": null },
        "billing_reason": "subscription_cycle", "collection_method": "charge_automatically",
        "created": NOW - 10, "currency": "usd", "customer": "cus_RaBcD",
        "customer_email": "ada@example.com", "default_tax_rates": [], "description": null,
        "discounts": [], "due_date": null, "hosted_invoice_url": null,
        "issuer": { "type": "self" },
        "lines": {
            "object": "list", "has_more": false, "total_count": 2,
            "url": "/v1/invoices/in_1QxYz/lines",
            // Out of order on purpose: paid_until is the latest end.
            "data": [line("il_2", NOW, PERIOD_END), line("il_1", NOW - 30 * 86_400, NOW)]
        },
        "livemode": false, "metadata": {},
        "parent": {
            "quote_details": null,
            "subscription_details": { "metadata": metadata(), "subscription": "sub_1QxYz" },
            "type": "subscription_details"
        },
        "payment_settings": { "default_mandate": null, "payment_method_options": null,
                              "payment_method_types": null },
        "period_end": NOW, "period_start": NOW - 30 * 86_400,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0, "status": status,
        "status_transitions": { "finalized_at": NOW - 10, "marked_uncollectible_at": null,
                                "paid_at": if status == "paid" { Value::from(NOW) } else { Value::Null },
                                "voided_at": null },
        "subtotal": 2900, "total": 2900
    })
}

fn expected_subscription(status: &str, cancel_at_period_end: bool) -> RemoteSubscription {
    RemoteSubscription {
        id: "sub_1QxYz".into(),
        customer_id: "cus_RaBcD".into(),
        status: status.into(),
        item_id: Some("si_RaBcD".into()),
        price_id: Some("price_startup_monthly".into()),
        current_period_end: DateTime::from_timestamp(PERIOD_END, 0),
        cancel_at_period_end,
        keyplane_subscription_id: Some(Uuid::parse_str(OUR_SUBSCRIPTION).unwrap()),
    }
}

#[test]
fn good_signature_is_accepted() {
    let payload = event_payload(
        "customer.subscription.updated",
        subscription("active", false),
    );
    let event = verify(&payload).unwrap();
    assert_eq!(event.id, "evt_1QxYzAbCdEfGhIjK");
    assert_eq!(event.event_type, "customer.subscription.updated");
    assert_eq!(event.created.timestamp(), NOW - 5);
}

#[test]
fn a_rotated_secret_is_accepted_in_any_v1_position() {
    // While a secret is rolled, Stripe signs with both.
    let payload = event_payload("invoice.paid", invoice("paid"));
    let old = Webhook::generate_test_header(&payload, "whsec_old", Some(NOW));
    let new = signed(&payload);
    let v1 = |h: &str| h.split_once(',').unwrap().1.to_owned();
    let header = format!("t={},{},{}", NOW - 5, v1(&old), v1(&new));
    assert!(verify_event(&payload, &header, SECRET, now()).is_ok());
}

#[test]
fn wrong_secret_is_a_bad_signature() {
    let payload = event_payload("invoice.paid", invoice("paid"));
    let header = Webhook::generate_test_header(&payload, "whsec_other", Some(NOW));
    assert_eq!(
        verify_event(&payload, &header, SECRET, now()),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let payload = event_payload("invoice.paid", invoice("paid"));
    let header = signed(&payload);
    let tampered = payload.replace("\"amount_paid\":2900", "\"amount_paid\":1");
    assert_ne!(tampered, payload);
    assert_eq!(
        verify_event(&tampered, &header, SECRET, now()),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn an_empty_secret_accepts_nothing() {
    let payload = event_payload("invoice.paid", invoice("paid"));
    let header = Webhook::generate_test_header(&payload, "", Some(NOW));
    assert_eq!(
        verify_event(&payload, &header, "", now()),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn old_or_future_timestamps_are_stale() {
    let payload = event_payload("invoice.paid", invoice("paid"));
    for t in [NOW - 301, NOW + 301] {
        let header = Webhook::generate_test_header(&payload, SECRET, Some(t));
        assert_eq!(
            verify_event(&payload, &header, SECRET, now()),
            Err(WebhookError::StaleTimestamp),
            "t = now {:+}",
            t - NOW
        );
    }
    let header = Webhook::generate_test_header(&payload, SECRET, Some(NOW - 300));
    assert!(verify_event(&payload, &header, SECRET, now()).is_ok());
}

#[test]
fn missing_or_malformed_header_is_a_missing_signature() {
    let payload = event_payload("invoice.paid", invoice("paid"));
    let good = signed(&payload);
    let v1 = good.split_once(',').unwrap().1;
    for header in [
        "",
        "   ",
        "garbage",
        v1,                           // no timestamp
        &format!("t={NOW}"),          // no signature
        &format!("t=yesterday,{v1}"), // unreadable timestamp
        &format!("t={NOW},v1="),      // empty signature
    ] {
        assert_eq!(
            verify_event(&payload, header, SECRET, now()),
            Err(WebhookError::MissingSignature),
            "{header:?}"
        );
    }
}

#[test]
fn checkout_completed() {
    let event = verify(&event_payload(
        "checkout.session.completed",
        checkout_session(),
    ))
    .unwrap();
    assert_eq!(
        event.kind,
        EventKind::CheckoutCompleted {
            checkout_id: "cs_test_a1B2c3".into(),
            subscription_ref: Some(Uuid::parse_str(OUR_SUBSCRIPTION).unwrap()),
            customer_id: Some("cus_RaBcD".into()),
            stripe_subscription_id: Some("sub_1QxYz".into()),
        }
    );
}

#[test]
fn subscription_created_and_updated_are_changes() {
    for event_type in [
        "customer.subscription.created",
        "customer.subscription.updated",
    ] {
        let event = verify(&event_payload(event_type, subscription("past_due", true))).unwrap();
        assert_eq!(
            event.kind,
            EventKind::SubscriptionChanged(expected_subscription("past_due", true)),
            "{event_type}"
        );
    }
}

#[test]
fn subscription_deleted() {
    let event = verify(&event_payload(
        "customer.subscription.deleted",
        subscription("canceled", false),
    ))
    .unwrap();
    assert_eq!(
        event.kind,
        EventKind::SubscriptionDeleted(expected_subscription("canceled", false))
    );
}

#[test]
fn invoice_paid_pays_until_the_latest_line_end() {
    let event = verify(&event_payload("invoice.paid", invoice("paid"))).unwrap();
    assert_eq!(
        event.kind,
        EventKind::InvoicePaid {
            stripe_subscription_id: Some("sub_1QxYz".into()),
            paid_until: DateTime::from_timestamp(PERIOD_END, 0),
        }
    );
}

#[test]
fn invoice_payment_failed() {
    let event = verify(&event_payload("invoice.payment_failed", invoice("open"))).unwrap();
    assert_eq!(
        event.kind,
        EventKind::InvoicePaymentFailed {
            stripe_subscription_id: Some("sub_1QxYz".into()),
        }
    );
}

#[test]
fn other_types_are_ignored() {
    // A type async-stripe has no variant for (compiled out or newer).
    let event = verify(&event_payload(
        "radar.early_fraud_warning.created",
        json!({ "id": "issfr_1", "object": "radar.early_fraud_warning" }),
    ))
    .unwrap();
    assert_eq!(event.kind, EventKind::Ignored);
    assert_eq!(event.event_type, "radar.early_fraud_warning.created");

    // A type it knows but whose object it cannot read here.
    let event = verify(&event_payload(
        "customer.created",
        json!({ "id": "cus_1", "object": "customer", "surprise": true }),
    ))
    .unwrap();
    assert_eq!(event.kind, EventKind::Ignored);
    assert_eq!(event.id, "evt_1QxYzAbCdEfGhIjK");
}

#[test]
fn an_unreadable_event_we_act_on_is_refused() {
    // Dropping it would lose a payment; a 400 makes Stripe retry it.
    let result = verify(&event_payload(
        "invoice.paid",
        json!({ "id": "in_1", "object": "invoice" }),
    ));
    assert!(
        matches!(result, Err(WebhookError::BadPayload(_))),
        "{result:?}"
    );
}

#[test]
fn a_payload_that_is_not_an_event_is_refused() {
    let result = verify("{\"hello\":\"world\"}");
    assert!(
        matches!(result, Err(WebhookError::BadPayload(_))),
        "{result:?}"
    );
}
