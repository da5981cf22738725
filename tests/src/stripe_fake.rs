//! A local fake of Stripe's API for the billing tests: the four endpoints
//! `billing::stripe::StripeProvider` calls, with in-memory state, and
//! builders for the objects and signed webhook events Stripe would send.
//!
//! It speaks just enough HTTP/1.1 for async-stripe's hyper client (one
//! request per connection: the client keeps no idle connections), answers
//! whole objects (async-stripe's deserializers refuse an object missing any
//! non-optional field) and records every request, decoded, so tests can
//! assert on what was sent.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a fake billing period lasts.
pub const PERIOD_SECS: i64 = 30 * 86_400;

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Without the query string.
    pub path: String,
    /// The form-encoded body (or the query of a GET), decoded, in order:
    /// keys as async-stripe writes them, e.g. `metadata[keyplane_project_id]`,
    /// `line_items[0][price]`.
    pub params: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The value of a form parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A customer the fake created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCustomer {
    pub id: String,
    pub email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: i64,
}

/// A Checkout session the fake created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSession {
    pub id: String,
    pub customer: Option<String>,
    pub price: Option<String>,
    pub client_reference_id: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// `subscription_data[metadata]`: becomes the subscription's metadata.
    pub subscription_metadata: BTreeMap<String, String>,
    /// Set by [`StripeFake::complete_checkout`].
    pub subscription: Option<String>,
    pub created: i64,
}

/// A subscription (with its one item) in the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSubscription {
    pub id: String,
    pub customer: String,
    pub item_id: String,
    pub price: String,
    pub status: String,
    pub cancel_at_period_end: bool,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub metadata: BTreeMap<String, String>,
    pub created: i64,
}

#[derive(Default)]
struct State {
    secret_key: String,
    next_id: u64,
    customers: BTreeMap<String, FakeCustomer>,
    sessions: BTreeMap<String, FakeSession>,
    subscriptions: BTreeMap<String, FakeSubscription>,
    requests: Vec<RecordedRequest>,
    /// When set, every API call answers this status with an `api_error`.
    failure: Option<u16>,
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_fake{:06}", self.next_id)
    }
}

/// The fake; stops listening when dropped.
pub struct StripeFake {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for StripeFake {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl StripeFake {
    /// Listens on a free loopback port; API calls must carry
    /// `Authorization: Bearer <secret_key>`.
    pub async fn start(secret_key: &str) -> StripeFake {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Stripe fake");
        let addr = listener.local_addr().expect("the fake's address");
        let state = Arc::new(Mutex::new(State {
            secret_key: secret_key.to_owned(),
            ..State::default()
        }));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    // A client that hangs up mid-request is its problem.
                    let _ = serve(stream, state).await;
                });
            }
        });
        StripeFake {
            addr,
            state,
            accept,
        }
    }

    /// The base URL for `billing.stripe_api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections: later calls get "connection refused".
    pub fn stop(&self) {
        self.accept.abort();
    }

    /// Makes every later API call fail with `status` (a Stripe `api_error`
    /// body); `None` restores normal answers.
    pub fn fail_with(&self, status: Option<u16>) {
        self.lock().failure = status;
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn customer(&self, id: &str) -> Option<FakeCustomer> {
        self.lock().customers.get(id).cloned()
    }

    pub fn session(&self, id: &str) -> Option<FakeSession> {
        self.lock().sessions.get(id).cloned()
    }

    pub fn subscription(&self, id: &str) -> Option<FakeSubscription> {
        self.lock().subscriptions.get(id).cloned()
    }

    /// What Stripe does when the buyer pays: creates the subscription
    /// (active, one item on the session's price, the session's
    /// `subscription_data[metadata]` as its metadata, a period from now to
    /// now + 30 days) and links it to the session. Returns its id.
    pub fn complete_checkout(&self, session_id: &str) -> String {
        let mut state = self.lock();
        let session = state
            .sessions
            .get(session_id)
            .cloned()
            .unwrap_or_else(|| panic!("no checkout session {session_id} in the fake"));
        let id = state.id("sub");
        let item_id = state.id("si");
        let now = now();
        state.subscriptions.insert(
            id.clone(),
            FakeSubscription {
                id: id.clone(),
                customer: session.customer.clone().unwrap_or_default(),
                item_id,
                price: session.price.clone().unwrap_or_default(),
                status: "active".into(),
                cancel_at_period_end: false,
                current_period_start: now,
                current_period_end: now + PERIOD_SECS,
                metadata: session.subscription_metadata.clone(),
                created: now,
            },
        );
        if let Some(session) = state.sessions.get_mut(session_id) {
            session.subscription = Some(id.clone());
        }
        id
    }

    /// Changes a subscription as Stripe's billing would (`past_due`,
    /// `canceled`, ...).
    pub fn set_subscription_status(&self, id: &str, status: &str) {
        self.with_subscription(id, |sub| sub.status = status.to_owned());
    }

    /// Moves a subscription's period (a renewal).
    pub fn set_period_end(&self, id: &str, period_end: i64) {
        self.with_subscription(id, |sub| {
            sub.current_period_start = period_end - PERIOD_SECS;
            sub.current_period_end = period_end;
        });
    }

    fn with_subscription(&self, id: &str, change: impl FnOnce(&mut FakeSubscription)) {
        let mut state = self.lock();
        let sub = state
            .subscriptions
            .get_mut(id)
            .unwrap_or_else(|| panic!("no subscription {id} in the fake"));
        change(sub);
    }

    /// The subscription object as Stripe renders it (API and events).
    pub fn subscription_json(&self, id: &str) -> Value {
        let sub = self
            .subscription(id)
            .unwrap_or_else(|| panic!("no subscription {id} in the fake"));
        subscription_object(&sub)
    }

    /// The Checkout session object as Stripe renders it.
    pub fn checkout_session_json(&self, id: &str) -> Value {
        let session = self
            .session(id)
            .unwrap_or_else(|| panic!("no checkout session {id} in the fake"));
        session_object(&session)
    }

    /// An invoice for one period of the subscription, ending at
    /// `period_end`: `paid` (for `invoice.paid`) or `open` after a failed
    /// attempt (for `invoice.payment_failed`). The subscription need not be
    /// in the fake.
    pub fn invoice_json(&self, subscription_id: &str, period_end: i64, paid: bool) -> Value {
        let (customer, item_id, price, metadata) = match self.subscription(subscription_id) {
            Some(sub) => (sub.customer, sub.item_id, sub.price, sub.metadata),
            None => (
                "cus_unknown".into(),
                "si_unknown".into(),
                "price_unknown".into(),
                BTreeMap::new(),
            ),
        };
        let id = self.lock().id("in");
        invoice_object(&InvoiceParts {
            id: &id,
            subscription: subscription_id,
            customer: &customer,
            item_id: &item_id,
            price: &price,
            metadata: &metadata,
            period_end,
            paid,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide the
        // state from the ones reporting on it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An event as Stripe posts it to a webhook endpoint.
pub fn event_json(event_id: &str, event_type: &str, created: i64, object: Value) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": created,
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type,
    })
    .to_string()
}

/// The `Stripe-Signature` header Stripe sends with `payload`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>">`.
/// Written here rather than taken from async-stripe so the check in
/// `billing::verify_event` is tested against an independent signer.
pub fn sign(payload: &str, secret: &str, timestamp: i64) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

// ---------------------------------------------------------------- HTTP

struct Response {
    status: u16,
    body: Value,
}

fn ok(body: Value) -> Response {
    Response { status: 200, body }
}

/// Stripe's error body.
fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Response {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    Response {
        status,
        body: json!({ "error": error }),
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let mut authorization = None;
    let mut content_length = 0;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value.trim().to_owned()),
                "content-length" => content_length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < content_length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let form: &[u8] = if method == "GET" {
        query.as_bytes()
    } else {
        &body
    };
    let request = RecordedRequest {
        method,
        path: path.to_owned(),
        params: url::form_urlencoded::parse(form).into_owned().collect(),
    };
    let response = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.requests.push(request.clone());
        handle(&mut state, authorization.as_deref(), &request)
    };

    let body = response.body.to_string();
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nrequest-id: req_fake\r\nconnection: close\r\n\r\n",
        response.status,
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn handle(state: &mut State, authorization: Option<&str>, request: &RecordedRequest) -> Response {
    if authorization != Some(format!("Bearer {}", state.secret_key).as_str()) {
        return error(
            401,
            "invalid_request_error",
            None,
            "Invalid API Key provided: sk_test_********",
        );
    }
    if let Some(status) = state.failure {
        return error(
            status,
            "api_error",
            None,
            "An unknown error occurred (fake failure)",
        );
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "customers"]) => create_customer(state, request),
        ("POST", ["v1", "checkout", "sessions"]) => create_session(state, request),
        ("GET", ["v1", "subscriptions", id]) => match state.subscriptions.get(*id) {
            Some(sub) => ok(subscription_object(sub)),
            None => no_such_subscription(id),
        },
        ("POST", ["v1", "subscriptions", id]) => update_subscription(state, id, request),
        _ => error(
            404,
            "invalid_request_error",
            None,
            &format!(
                "Unrecognized request URL ({} {}).",
                request.method, request.path
            ),
        ),
    }
}

fn no_such_subscription(id: &str) -> Response {
    error(
        404,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such subscription: '{id}'"),
    )
}

/// `prefix[key]=value` parameters as a map.
fn map_param(request: &RecordedRequest, prefix: &str) -> BTreeMap<String, String> {
    request
        .params
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
                .map(|key| (key.to_owned(), v.clone()))
        })
        .collect()
}

fn missing(param: &str) -> Response {
    error(
        400,
        "invalid_request_error",
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
    )
}

fn create_customer(state: &mut State, request: &RecordedRequest) -> Response {
    let customer = FakeCustomer {
        id: state.id("cus"),
        email: request.param("email").map(str::to_owned),
        metadata: map_param(request, "metadata"),
        created: now(),
    };
    let body = json!({
        "id": customer.id, "object": "customer", "address": null, "balance": 0,
        "created": customer.created, "currency": null, "default_source": null,
        "delinquent": false, "description": null, "discount": null,
        "email": customer.email, "invoice_prefix": "FAKE0001",
        "invoice_settings": { "custom_fields": null, "default_payment_method": null,
                              "footer": null, "rendering_options": null },
        "livemode": false, "metadata": customer.metadata, "name": null,
        "next_invoice_sequence": 1, "phone": null, "preferred_locales": [],
        "shipping": null, "tax_exempt": "none", "test_clock": null
    });
    state.customers.insert(customer.id.clone(), customer);
    ok(body)
}

fn create_session(state: &mut State, request: &RecordedRequest) -> Response {
    // What Stripe itself refuses for a subscription-mode session.
    for param in ["mode", "success_url", "line_items[0][price]"] {
        if request.param(param).is_none() {
            return missing(param);
        }
    }
    if request.param("mode") != Some("subscription") {
        return error(
            400,
            "invalid_request_error",
            None,
            "The fake only sells subscriptions.",
        );
    }
    if let Some(customer) = request.param("customer")
        && !state.customers.contains_key(customer)
    {
        return error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such customer: '{customer}'"),
        );
    }
    let session = FakeSession {
        id: state.id("cs_test"),
        customer: request.param("customer").map(str::to_owned),
        price: request.param("line_items[0][price]").map(str::to_owned),
        client_reference_id: request.param("client_reference_id").map(str::to_owned),
        success_url: request.param("success_url").map(str::to_owned),
        cancel_url: request.param("cancel_url").map(str::to_owned),
        metadata: map_param(request, "metadata"),
        subscription_metadata: map_param(request, "subscription_data[metadata]"),
        subscription: None,
        created: now(),
    };
    let body = session_object(&session);
    state.sessions.insert(session.id.clone(), session);
    ok(body)
}

fn update_subscription(state: &mut State, id: &str, request: &RecordedRequest) -> Response {
    let Some(sub) = state.subscriptions.get_mut(id) else {
        return no_such_subscription(id);
    };
    if let Some(price) = request.param("items[0][price]") {
        // Without the item id Stripe would add a second item.
        if request.param("items[0][id]") != Some(sub.item_id.as_str()) {
            return error(
                400,
                "invalid_request_error",
                None,
                "The fake only moves the existing item to another price.",
            );
        }
        sub.price = price.to_owned();
    }
    match request.param("cancel_at_period_end") {
        Some("true") => sub.cancel_at_period_end = true,
        Some("false") => sub.cancel_at_period_end = false,
        Some(other) => {
            return error(
                400,
                "invalid_request_error",
                None,
                &format!("Invalid boolean: {other}"),
            );
        }
        None => {}
    }
    ok(subscription_object(sub))
}

// ------------------------------------------------------------- objects

fn price_object(price: &str, created: i64) -> Value {
    json!({
        "id": price, "object": "price", "active": true, "billing_scheme": "per_unit",
        "created": created, "currency": "usd", "custom_unit_amount": null,
        "livemode": false, "lookup_key": null, "metadata": {}, "nickname": null,
        "product": "prod_fake",
        "recurring": { "interval": "month", "interval_count": 1, "meter": null,
                       "trial_period_days": null, "usage_type": "licensed" },
        "tax_behavior": "unspecified", "tiers_mode": null, "transform_quantity": null,
        "type": "recurring", "unit_amount": 2900, "unit_amount_decimal": "2900"
    })
}

/// The legacy `plan` every subscription item still carries.
fn plan_object(price: &str, created: i64) -> Value {
    json!({
        "id": price, "object": "plan", "active": true, "amount": 2900,
        "amount_decimal": "2900", "billing_scheme": "per_unit", "created": created,
        "currency": "usd", "interval": "month", "interval_count": 1, "livemode": false,
        "metadata": {}, "meter": null, "nickname": null, "product": "prod_fake",
        "tiers_mode": null, "transform_usage": null, "trial_period_days": null,
        "usage_type": "licensed"
    })
}

fn subscription_object(sub: &FakeSubscription) -> Value {
    let item = json!({
        "id": sub.item_id, "object": "subscription_item", "billing_thresholds": null,
        "created": sub.created,
        // Since API version 2025-03-31 the period is on the item.
        "current_period_end": sub.current_period_end,
        "current_period_start": sub.current_period_start,
        "discounts": [], "metadata": {},
        "plan": plan_object(&sub.price, sub.created),
        "price": price_object(&sub.price, sub.created),
        "quantity": 1, "subscription": sub.id, "tax_rates": []
    });
    let mut object = json!({
        "id": sub.id, "object": "subscription", "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": sub.current_period_start,
        "billing_cycle_anchor_config": null,
        "billing_mode": { "flexible": null, "type": "classic" },
        "billing_schedules": [], "billing_thresholds": null, "cancel_at": null,
        "cancel_at_period_end": sub.cancel_at_period_end,
        "canceled_at": null,
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": "charge_automatically", "created": sub.created,
        "currency": "usd", "customer": sub.customer, "days_until_due": null,
        "default_payment_method": "pm_fake", "default_source": null,
        "default_tax_rates": [], "description": null, "discounts": [], "ended_at": null
    });
    let rest = json!({
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": { "object": "list", "data": [item], "has_more": false, "total_count": 1,
                   "url": format!("/v1/subscription_items?subscription={}", sub.id) },
        "latest_invoice": null, "livemode": false, "metadata": sub.metadata,
        "next_pending_invoice_item_invoice": null, "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": { "payment_method_options": null, "payment_method_types": null,
                              "save_default_payment_method": "off" },
        "pending_invoice_item_interval": null, "pending_setup_intent": null,
        "pending_update": null, "schedule": null, "start_date": sub.created,
        "status": sub.status, "test_clock": null, "transfer_data": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null
    });
    merge(&mut object, rest);
    object
}

fn session_object(session: &FakeSession) -> Value {
    let complete = session.subscription.is_some();
    let mut object = json!({
        "id": session.id, "object": "checkout.session", "after_expiration": null,
        "allow_promotion_codes": null, "amount_subtotal": 2900, "amount_total": 2900,
        "automatic_tax": { "enabled": false, "liability": null, "provider": null,
                           "status": null },
        "billing_address_collection": null, "cancel_url": session.cancel_url,
        "client_reference_id": session.client_reference_id, "client_secret": null,
        "consent": null, "consent_collection": null, "created": session.created,
        "currency": "usd", "custom_fields": [],
        "custom_text": { "after_submit": null, "shipping_address": null, "submit": null,
                         "terms_of_service_acceptance": null },
        "customer": session.customer, "customer_creation": null,
        "customer_details": null, "customer_email": null,
        "expires_at": session.created + 86_400
    });
    let rest = json!({
        "invoice": null, "invoice_creation": null, "livemode": false, "locale": null,
        "metadata": session.metadata, "mode": "subscription", "payment_intent": null,
        "payment_link": null, "payment_method_collection": "always",
        "payment_method_types": ["card"],
        "payment_status": if complete { "paid" } else { "unpaid" },
        "phone_number_collection": { "enabled": false }, "recovered_from": null,
        "setup_intent": null, "shipping_address_collection": null, "shipping_cost": null,
        "shipping_options": [], "status": if complete { "complete" } else { "open" },
        "submit_type": null, "subscription": session.subscription,
        "success_url": session.success_url, "total_details": null, "ui_mode": "hosted",
        // Stripe drops the URL once the session is complete.
        "url": if complete { Value::Null } else {
            json!(format!("https://checkout.stripe.com/c/pay/{}", session.id))
        }
    });
    merge(&mut object, rest);
    object
}

struct InvoiceParts<'a> {
    id: &'a str,
    subscription: &'a str,
    customer: &'a str,
    item_id: &'a str,
    price: &'a str,
    metadata: &'a BTreeMap<String, String>,
    period_end: i64,
    paid: bool,
}

fn invoice_object(parts: &InvoiceParts<'_>) -> Value {
    let start = parts.period_end - PERIOD_SECS;
    let (paid_amount, status) = if parts.paid {
        (2900, "paid")
    } else {
        (0, "open")
    };
    let line = json!({
        "id": format!("il_{}", parts.id), "object": "line_item", "amount": 2900,
        "currency": "usd", "description": "1 × Keyplane (at $29.00 / month)",
        "discount_amounts": [], "discountable": true, "discounts": [],
        "invoice": parts.id, "livemode": false, "metadata": {},
        "parent": {
            "invoice_item_details": null,
            "subscription_item_details": {
                "invoice_item": null, "proration": false,
                "proration_details": { "credited_items": null },
                "subscription": parts.subscription, "subscription_item": parts.item_id
            },
            "type": "subscription_item_details"
        },
        "period": { "end": parts.period_end, "start": start },
        "pricing": { "price_details": { "price": parts.price, "product": "prod_fake" },
                     "type": "price_details", "unit_amount_decimal": "2900" },
        "quantity": 1, "subtotal": 2900, "taxes": []
    });
    let mut object = json!({
        "id": parts.id, "object": "invoice", "account_country": "US",
        "account_name": "Keyplane", "amount_due": 2900, "amount_overpaid": 0,
        "amount_paid": paid_amount, "amount_remaining": 2900 - paid_amount,
        "amount_shipping": 0, "application": null, "attempt_count": 1,
        "attempted": true, "auto_advance": !parts.paid,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null,
                           "provider": null, "status": null },
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically", "created": start,
        "currency": "usd", "customer": parts.customer, "default_tax_rates": [],
        "description": null, "discounts": [], "due_date": null,
        "hosted_invoice_url": null, "issuer": { "type": "self" }
    });
    let rest = json!({
        "lines": { "object": "list", "data": [line], "has_more": false, "total_count": 1,
                   "url": format!("/v1/invoices/{}/lines", parts.id) },
        "livemode": false, "metadata": {},
        // Since API version 2025-03-31 the subscription is only here.
        "parent": {
            "quote_details": null,
            "subscription_details": { "metadata": parts.metadata,
                                      "subscription": parts.subscription },
            "type": "subscription_details"
        },
        "payment_settings": { "default_mandate": null, "payment_method_options": null,
                              "payment_method_types": null },
        "period_end": start, "period_start": start - PERIOD_SECS,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0, "status": status,
        "status_transitions": { "finalized_at": start, "marked_uncollectible_at": null,
                                "paid_at": if parts.paid { json!(start) } else { Value::Null },
                                "voided_at": null },
        "subtotal": 2900, "total": 2900
    });
    merge(&mut object, rest);
    object
}

/// Adds `rest`'s keys to `object`. The big objects are written in two
/// halves: one `json!` of this size exceeds the macro recursion limit.
fn merge(object: &mut Value, rest: Value) {
    if let (Value::Object(object), Value::Object(rest)) = (object, rest) {
        object.extend(rest);
    }
}
