//! Buying, changing and mirroring subscriptions. Calls to the payment
//! provider never run inside a database transaction (a slow Stripe must
//! not hold row locks); each change to rows is one transaction, and the
//! projects a change halts or resumes are announced after it commits.

use super::model::{
    CheckoutView, CreateSubscription, ProvisionMockSubscription, StripeCustomerView,
    SubscriptionRow, SubscriptionView, UpdateSubscription, status,
};
use super::store as subscriptions;
use crate::access::{Action, Gate};
use crate::account::Caller;
use crate::account::store as accounts;
use crate::project::service::ProjectService;
use crate::project::store as projects;
use billing::{
    BillingSettings, CheckoutRequest, EventKind, PaymentProvider, Plan, PriceChange, ProviderError,
    RemoteSubscription, StripeEvent,
};
use chrono::{DateTime, Duration, Utc};
use kernel::clock::SharedClock;
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::sync::Arc;
use store::audit::{self, Change};
use store::{Database, sql};
use uuid::Uuid;

#[derive(Clone)]
pub struct BillingService {
    db: Database,
    gate: Gate,
    clock: SharedClock,
    projects: ProjectService,
    settings: Arc<BillingSettings>,
    /// None: the built-in provider (no Stripe key configured).
    provider: Option<Arc<dyn PaymentProvider>>,
    /// Where a buyer returns when the request names no `return_to`.
    default_return_url: String,
}

/// What a webhook call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied,
    /// The event id was seen before: nothing changed.
    Replayed,
}

/// The fields a plan change sets, applied to a fresh read of the row.
#[derive(Debug, Default)]
struct PlanEdit {
    current_plan: Option<Plan>,
    /// Some(None) clears a scheduled change; Some(Some(..)) schedules one.
    pending: Option<Option<(Plan, DateTime<Utc>)>>,
    item_id: Option<String>,
    payed_until: Option<DateTime<Utc>>,
}

impl PlanEdit {
    fn apply_to(self, row: &mut SubscriptionRow) {
        if let Some(plan) = self.current_plan {
            row.current_plan = plan;
        }
        if let Some(pending) = self.pending {
            row.plan_changes_to = pending.map(|(plan, _)| plan);
            row.plan_changes_at = pending.map(|(_, at)| at);
        }
        if self.item_id.is_some() {
            row.stripe_item_id = self.item_id;
        }
        if let Some(until) = self.payed_until {
            row.payed_until = until;
        }
    }
}

fn not_found() -> Error {
    Error::not_found("the subscription does not exist or you do not have access to it")
}

fn provider_error(err: ProviderError) -> Error {
    match err {
        ProviderError::Refused(reason) => Error::bad_request(format!(
            "the payment provider refused the request: {reason}"
        )),
        ProviderError::Unavailable(reason) => {
            tracing::warn!(%reason, "payment provider unavailable");
            Error::unavailable("the payment provider is unavailable; try again later")
        }
    }
}

impl BillingService {
    pub fn new(
        db: Database,
        gate: Gate,
        clock: SharedClock,
        projects: ProjectService,
        settings: BillingSettings,
        provider: Option<Arc<dyn PaymentProvider>>,
        default_return_url: String,
    ) -> Self {
        Self {
            db,
            gate,
            clock,
            projects,
            settings: Arc::new(settings),
            provider,
            default_return_url,
        }
    }

    /// Now, as the database keeps it.
    fn now(&self) -> DateTime<Utc> {
        sql::now_as_stored(self.clock.as_ref())
    }

    fn grace(&self) -> Duration {
        Duration::seconds(i64::try_from(self.settings.grace_period_secs).unwrap_or(i64::MAX / 2))
    }

    /// Reads `plan_or_price`; 400 for anything that is not a plan.
    fn resolve_plan(&self, plan_or_price: &str) -> Result<Plan> {
        self.settings.resolve(plan_or_price).ok_or_else(|| {
            Error::bad_request(format!(
                "`{plan_or_price}` is neither a plan (free, start_up_monthly, start_up_yearly, custom) nor one of our prices"
            ))
        })
    }

    /// The Stripe price of a plan bought through Checkout.
    fn price_of(&self, plan: Plan) -> Result<&str> {
        self.settings.price_of(plan).ok_or_else(|| {
            Error::bad_request(format!(
                "the plan `{plan}` cannot be bought here (no price is configured for it)"
            ))
        })
    }

    /// `return_to` must be an absolute http(s) URL (Stripe sends the buyer
    /// there).
    fn return_url(&self, return_to: Option<&str>) -> Result<String> {
        let Some(url) = return_to.filter(|u| !u.is_empty()) else {
            return Ok(self.default_return_url.clone());
        };
        match url::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url.to_owned()),
            _ => Err(Error::bad_request(
                "return_to must be an absolute http(s) URL",
            )),
        }
    }

    /// A subscription the caller owns; 404 for any other.
    async fn owned(&self, caller: Caller, id: Uuid) -> Result<SubscriptionRow> {
        caller.require_person()?;
        subscriptions::find(&self.db.conn, id)
            .await?
            .filter(|s| s.owner_account_id == caller.account_id)
            .ok_or_else(not_found)
    }

    /// `GET /stripe/customer`: the caller's customer, created on first use.
    pub async fn customer(&self, caller: Caller) -> Result<StripeCustomerView> {
        caller.require_person()?;
        Ok(StripeCustomerView {
            id: self.ensure_customer(caller.account_id).await?,
        })
    }

    async fn ensure_customer(&self, account: Uuid) -> Result<String> {
        if let Some(id) = subscriptions::find_customer(&self.db.conn, account).await? {
            return Ok(id);
        }
        let created = match &self.provider {
            Some(provider) => {
                let email = accounts::find_account(&self.db.conn, account)
                    .await?
                    .map(|(a, _)| a.email);
                provider
                    .create_customer(account, email.as_deref())
                    .await
                    .map_err(provider_error)?
            }
            None => format!("local_{}", account.simple()),
        };
        // Two first calls at once may both create one at Stripe; the first
        // recorded wins and the other stays unused there.
        subscriptions::insert_customer(&self.db.conn, account, &created, self.now()).await
    }

    /// `POST /subscriptions`: starts buying `plan_or_price` for a project.
    pub async fn create(&self, caller: Caller, new: CreateSubscription) -> Result<CheckoutView> {
        caller.require_person()?;
        let plan = self.resolve_plan(&new.plan_or_price)?;
        if plan == Plan::Free {
            return Err(Error::bad_request("the free plan needs no subscription"));
        }
        let (project, _) = self
            .gate
            .project(caller, new.provision_first_project, Action::ManageBilling)
            .await?;
        if let Some(existing) = project.subscription_id {
            let current = subscriptions::find(&self.db.conn, existing).await?;
            if current.is_some_and(|s| s.is_in_good_standing() && s.current_plan != Plan::Free) {
                return Err(Error::conflict(format!(
                    "the project already has a subscription; change its plan with PUT /subscriptions/{existing}"
                )));
            }
        }
        let return_url = self.return_url(new.return_to.as_deref())?;
        let price = match &self.provider {
            Some(_) => Some(self.price_of(plan)?.to_owned()),
            None => None,
        };
        let customer_id = self.ensure_customer(caller.account_id).await?;
        let now = self.now();
        let mut row = SubscriptionRow::new(caller.account_id, customer_id.clone(), now);
        row.requested_plan = Some(plan);
        row.provision_project_id = Some(project.id);
        let (Some(provider), Some(price)) = (&self.provider, price) else {
            // The built-in provider: nothing to pay, the plan applies now.
            row.activate_builtin(plan, now);
            self.insert_attached(&row, &[project.id], now).await?;
            return Ok(CheckoutView {
                subscription: row.view(),
                checkout_url: return_url,
            });
        };
        // The row exists before Stripe knows of it, so a webhook that
        // arrives before this call returns still finds it.
        subscriptions::insert(&self.db.conn, &row).await?;
        let checkout = provider
            .create_checkout(&CheckoutRequest {
                customer_id,
                price_id: price,
                success_url: return_url.clone(),
                cancel_url: return_url,
                subscription_id: row.id,
                project_id: project.id,
            })
            .await;
        let checkout = match checkout {
            Ok(checkout) => checkout,
            Err(err) => {
                subscriptions::delete(&self.db.conn, row.id).await?;
                return Err(provider_error(err));
            }
        };
        row.ongoing_stripe_checkout_id = Some(checkout.id);
        row.updated_at = self.now();
        subscriptions::update(&self.db.conn, &row).await?;
        Ok(CheckoutView {
            subscription: row.view(),
            checkout_url: checkout.url,
        })
    }

    /// `GET /subscriptions/{id}`.
    pub async fn get(&self, caller: Caller, id: Uuid) -> Result<SubscriptionView> {
        Ok(self.owned(caller, id).await?.view())
    }

    /// `PUT /subscriptions/{id}`: a move up applies now (prorated), a move
    /// down at the end of the period already paid for.
    pub async fn update(
        &self,
        caller: Caller,
        id: Uuid,
        change: UpdateSubscription,
    ) -> Result<SubscriptionView> {
        let mut row = self.owned(caller, id).await?;
        let plan = self.resolve_plan(&change.plan_or_price)?;
        // Checked for the same rules as at creation; a plan change needs
        // no payment page, so nothing is sent there.
        self.return_url(change.return_to.as_deref())?;
        if !row.is_in_good_standing() {
            return Err(Error::conflict(format!(
                "the subscription is {}: only an active subscription can change plans",
                row.status
            )));
        }
        let now = self.now();
        // Stripe is called first; the row is then edited under its lock,
        // from a fresh read (a webhook may have landed meanwhile).
        let mut edit = PlanEdit::default();
        if plan == row.current_plan {
            // Keeping the current plan cancels a scheduled move down.
            if row.plan_changes_to == Some(Plan::Free)
                && let (Some(provider), Some(sub)) = (&self.provider, &row.stripe_subscription_id)
            {
                provider
                    .cancel_at_period_end(sub, false)
                    .await
                    .map_err(provider_error)?;
            }
            edit.pending = Some(None);
        } else if plan.rank() > row.current_plan.rank() {
            if let Some(provider) = &self.provider {
                let price = self.price_of(plan)?;
                let remote = self.remote(provider.as_ref(), &row).await?;
                if row.plan_changes_to == Some(Plan::Free) {
                    provider
                        .cancel_at_period_end(&remote.id, false)
                        .await
                        .map_err(provider_error)?;
                }
                let remote = provider
                    .change_price(&remote, price, PriceChange::Immediately)
                    .await
                    .map_err(provider_error)?;
                edit.item_id = remote.item_id;
                edit.payed_until = remote.current_period_end;
            }
            edit.current_plan = Some(plan);
            edit.pending = Some(None);
        } else {
            if plan == Plan::Free {
                if let (Some(provider), Some(sub)) = (&self.provider, &row.stripe_subscription_id) {
                    provider
                        .cancel_at_period_end(sub, true)
                        .await
                        .map_err(provider_error)?;
                }
            } else if self.provider.is_some() {
                // Checked now so the change cannot fail when it falls due.
                self.price_of(plan)?;
            }
            edit.pending = Some(Some((plan, row.payed_until.max(now))));
        }
        row = self
            .write_locked(row.id, now, |fresh| edit.apply_to(fresh))
            .await?
            .ok_or_else(not_found)?;
        Ok(row.view())
    }

    /// Edits a row in one transaction: locks it first (on SQLite the
    /// write lock is taken before any read), reads it fresh, applies
    /// `edit`, writes it back and sets its projects' state. None when the
    /// row is gone.
    async fn write_locked(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        edit: impl FnOnce(&mut SubscriptionRow),
    ) -> Result<Option<SubscriptionRow>> {
        let txn = self.db.begin_write().await?;
        if !subscriptions::lock(&txn, id, now).await? {
            return Ok(None);
        }
        let Some(mut row) = subscriptions::find(&txn, id).await? else {
            return Ok(None);
        };
        let before = audited(&row);
        edit(&mut row);
        row.updated_at = now;
        subscriptions::update(&txn, &row).await?;
        let changed = self
            .reconcile_projects(&txn, Some(&before), &row, now)
            .await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(changed).await;
        Ok(Some(row))
    }

    /// The Stripe subscription behind a row.
    async fn remote(
        &self,
        provider: &dyn PaymentProvider,
        row: &SubscriptionRow,
    ) -> Result<RemoteSubscription> {
        let sub = row
            .stripe_subscription_id
            .as_deref()
            .ok_or_else(|| Error::conflict("the subscription's checkout has not completed yet"))?;
        provider.subscription(sub).await.map_err(provider_error)
    }

    /// `POST /subscriptions/mock`: sets a plan directly. Only without
    /// Stripe: a server that takes payments has no way around them.
    pub async fn provision_mock(
        &self,
        caller: Caller,
        request: ProvisionMockSubscription,
    ) -> Result<SubscriptionView> {
        if self.provider.is_some() {
            return Err(Error::not_found(
                "mock subscriptions are off: this server takes payments through Stripe",
            ));
        }
        caller.require_person()?;
        if request.identity_id != caller.account_id {
            return Err(Error::forbidden(
                "a mock subscription can only be provisioned for your own identity",
            ));
        }
        let plan = self.resolve_plan(&request.plan_or_price)?;
        let targets = match request.project_id {
            Some(id) => {
                vec![
                    self.gate
                        .project(caller, id, Action::ManageBilling)
                        .await?
                        .0,
                ]
            }
            None => {
                projects::list_owned_without_subscription(&self.db.conn, caller.account_id).await?
            }
        };
        let now = self.now();
        // A project already on one of the caller's subscriptions keeps it.
        let existing = match targets.first().and_then(|p| p.subscription_id) {
            Some(id) => subscriptions::find(&self.db.conn, id)
                .await?
                .filter(|s| s.owner_account_id == caller.account_id),
            None => None,
        };
        if let Some(existing) = existing {
            let row = self
                .write_locked(existing.id, now, |row| row.activate_builtin(plan, now))
                .await?
                .ok_or_else(not_found)?;
            return Ok(row.view());
        }
        let customer_id = self.ensure_customer(caller.account_id).await?;
        let mut row = SubscriptionRow::new(caller.account_id, customer_id, now);
        row.activate_builtin(plan, now);
        let ids: Vec<Uuid> = targets.iter().map(|p| p.id).collect();
        self.insert_attached(&row, &ids, now).await?;
        Ok(row.view())
    }

    /// Stores a new subscription with `project_ids` on it, in one
    /// transaction, and sets their state to what it calls for.
    async fn insert_attached(
        &self,
        row: &SubscriptionRow,
        project_ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let txn = self.db.begin_write().await?;
        subscriptions::insert(&txn, row).await?;
        for project in project_ids {
            projects::set_subscription(&txn, *project, row.id, now).await?;
        }
        let changed = self.reconcile_projects(&txn, None, row, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(changed).await;
        Ok(())
    }

    /// `POST /billing/webhooks/stripe`.
    pub async fn handle_webhook(&self, payload: &str, signature: &str) -> Result<WebhookOutcome> {
        if self.settings.stripe_webhook_secret.is_empty() {
            return Err(Error::not_found("Stripe webhooks are not configured"));
        }
        let event = billing::verify_event(
            payload,
            signature,
            &self.settings.stripe_webhook_secret,
            self.now(),
        )
        .map_err(|e| Error::bad_request(e.to_string()).with_id("invalid_stripe_webhook"))?;
        // A completed Checkout names the subscription Stripe created; its
        // state is read before the transaction (never call out holding
        // locks) and is the newest there is.
        let fetched = match (&event.kind, &self.provider) {
            (
                EventKind::CheckoutCompleted {
                    stripe_subscription_id: Some(sub),
                    ..
                },
                Some(provider),
            ) => Some(provider.subscription(sub).await.map_err(provider_error)?),
            _ => None,
        };
        let now = self.now();
        let txn = self.db.begin_write().await?;
        if !subscriptions::record_event(&txn, &event.id, &event.event_type, now).await? {
            txn.rollback().await.map_err(sql::db_error)?;
            return Ok(WebhookOutcome::Replayed);
        }
        let found = match self.find_for_event(&txn, &event).await? {
            // Locked, then read again: two events of one subscription
            // arriving together apply one after the other.
            Some(row) if subscriptions::lock(&txn, row.id, now).await? => {
                subscriptions::find(&txn, row.id).await?
            }
            _ => None,
        };
        let changed = match found {
            Some(mut row) => {
                let before = audited(&row);
                self.apply_event(&txn, &mut row, &event, fetched.as_ref(), now)
                    .await?;
                row.updated_at = now;
                subscriptions::update(&txn, &row).await?;
                self.reconcile_projects(&txn, Some(&before), &row, now)
                    .await?
            }
            None => {
                tracing::info!(
                    event = %event.id,
                    event_type = %event.event_type,
                    "Stripe event for no subscription of ours"
                );
                Vec::new()
            }
        };
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(changed).await;
        Ok(WebhookOutcome::Applied)
    }

    /// The row an event is about: by our id in the metadata, else by the
    /// Stripe subscription id.
    async fn find_for_event<C: ConnectionTrait>(
        &self,
        conn: &C,
        event: &StripeEvent,
    ) -> Result<Option<SubscriptionRow>> {
        let (ours, stripe_id) = match &event.kind {
            EventKind::CheckoutCompleted {
                checkout_id,
                subscription_ref,
                stripe_subscription_id,
                ..
            } => {
                if let Some(row) = subscriptions::find_by_checkout_id(conn, checkout_id).await? {
                    return Ok(Some(row));
                }
                (*subscription_ref, stripe_subscription_id.clone())
            }
            EventKind::SubscriptionChanged(remote) | EventKind::SubscriptionDeleted(remote) => {
                (remote.keyplane_subscription_id, Some(remote.id.clone()))
            }
            EventKind::InvoicePaid {
                stripe_subscription_id,
                ..
            }
            | EventKind::InvoicePaymentFailed {
                stripe_subscription_id,
            } => (None, stripe_subscription_id.clone()),
            EventKind::Ignored => return Ok(None),
        };
        if let Some(id) = ours
            && let Some(row) = subscriptions::find(conn, id).await?
        {
            return Ok(Some(row));
        }
        match stripe_id {
            Some(id) => subscriptions::find_by_stripe_id(conn, &id).await,
            None => Ok(None),
        }
    }

    /// Applies an event to its row. States of the subscription are
    /// ordered by the event's creation time: one older than the newest
    /// applied arrived out of order and changes nothing.
    async fn apply_event<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &mut SubscriptionRow,
        event: &StripeEvent,
        fetched: Option<&RemoteSubscription>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let newer = row.stripe_state_at.is_none_or(|at| event.created >= at);
        match &event.kind {
            EventKind::CheckoutCompleted {
                customer_id,
                stripe_subscription_id,
                ..
            } => {
                row.ongoing_stripe_checkout_id = None;
                if let Some(customer) = customer_id {
                    row.customer_id.clone_from(customer);
                }
                if row.stripe_subscription_id.is_none() {
                    row.stripe_subscription_id
                        .clone_from(stripe_subscription_id);
                }
                match fetched {
                    Some(remote) if newer => self.mirror(row, remote, event.created),
                    Some(_) => {}
                    // Paid (Checkout completes only then), state unknown
                    // until the subscription's own event.
                    None if row.stripe_state_at.is_none() => {
                        row.status = status::ACTIVE.to_owned();
                        if let Some(plan) = row.requested_plan {
                            row.current_plan = plan;
                        }
                    }
                    None => {}
                }
                self.attach_provisioned(conn, row, now).await?;
            }
            EventKind::SubscriptionChanged(remote) => {
                if newer {
                    self.mirror(row, remote, event.created);
                }
                self.attach_provisioned(conn, row, now).await?;
            }
            EventKind::SubscriptionDeleted(remote) => {
                if newer {
                    self.mirror(row, remote, event.created);
                    row.status = status::CANCELED.to_owned();
                    // The owner's own move down to free ends here; any
                    // other deletion keeps the plan until the grace period
                    // runs out (then the projects halt).
                    if row.plan_changes_to == Some(Plan::Free) {
                        row.current_plan = Plan::Free;
                        row.plan_changes_to = None;
                        row.plan_changes_at = None;
                    }
                }
            }
            EventKind::InvoicePaid { paid_until, .. } => {
                if let Some(until) = paid_until {
                    row.payed_until = row.payed_until.max(*until);
                }
                if newer
                    && matches!(
                        row.status.as_str(),
                        status::PAST_DUE | status::UNPAID | status::INCOMPLETE
                    )
                {
                    row.status = status::ACTIVE.to_owned();
                    if let Some(plan) = row.requested_plan.take() {
                        row.current_plan = plan;
                    }
                    row.stripe_state_at = Some(event.created);
                }
            }
            EventKind::InvoicePaymentFailed { .. } => {
                if newer && row.status == status::ACTIVE {
                    row.status = status::PAST_DUE.to_owned();
                    row.stripe_state_at = Some(event.created);
                }
            }
            EventKind::Ignored => {}
        }
        Ok(())
    }

    /// Copies Stripe's state of the subscription onto the row.
    fn mirror(&self, row: &mut SubscriptionRow, remote: &RemoteSubscription, at: DateTime<Utc>) {
        row.stripe_subscription_id = Some(remote.id.clone());
        row.customer_id.clone_from(&remote.customer_id);
        row.status.clone_from(&remote.status);
        if remote.item_id.is_some() {
            row.stripe_item_id.clone_from(&remote.item_id);
        }
        if let Some(price) = &remote.price_id {
            let plan = self.settings.plan_of_price(price);
            if plan != Plan::Unknown || row.current_plan == Plan::Free {
                row.current_plan = plan;
            }
            row.requested_plan = None;
        }
        if let Some(end) = remote.current_period_end {
            row.payed_until = end;
        }
        if !remote.cancel_at_period_end && row.plan_changes_to == Some(Plan::Free) {
            // Cancellation was withdrawn at Stripe (e.g. in its portal).
            row.plan_changes_to = None;
            row.plan_changes_at = None;
        }
        row.stripe_state_at = Some(at);
    }

    /// Puts the project a Checkout was for on the subscription, once it is
    /// paid for.
    async fn attach_provisioned<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &mut SubscriptionRow,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if !row.is_in_good_standing() {
            return Ok(());
        }
        if let Some(project) = row.provision_project_id.take() {
            // The project may have been deleted meanwhile; nothing to do then.
            projects::set_subscription(conn, project, row.id, now).await?;
        }
        Ok(())
    }

    /// Sets the state of the subscription's projects to what it calls for;
    /// returns the slugs of all its projects, whose cached tenant contexts
    /// (state, the plan's rate limits) must be dropped.
    ///
    /// Records the change (from `before`, none for a new subscription) in
    /// the owner's log and in that of every project on it, with the state
    /// each project is left in.
    async fn reconcile_projects<C: ConnectionTrait>(
        &self,
        conn: &C,
        before: Option<&Value>,
        row: &SubscriptionRow,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let (action, after) = (
            if before.is_some() {
                "subscription.update"
            } else {
                "subscription.create"
            },
            audited(row),
        );
        let change =
            Change::account(row.owner_account_id, action, row.id).diff(before, Some(&after));
        audit::append(conn, change, now).await?;
        let wanted = row.project_state(now, self.grace());
        let mut slugs = Vec::new();
        for project in projects::list_by_subscription(conn, row.id).await? {
            // The project's people see the plan their project is on, not
            // the owner's billing details (customer, checkout).
            let mut for_project = Change::project(project.id, action, row.id)
                .diff(before.map(plan_part).as_ref(), Some(&plan_part(&after)));
            if project.state != wanted {
                let state =
                    json!({ "op": "replace", "path": "/project_state", "value": wanted.as_str() });
                if let Some(ops) = for_project.diff.as_array_mut() {
                    ops.push(state);
                }
            }
            audit::append(conn, for_project, now).await?;
            if project.state != wanted {
                projects::set_state(conn, project.id, wanted, now).await?;
                tracing::info!(
                    project = %project.id,
                    subscription = %row.id,
                    status = %row.status,
                    state = wanted.as_str(),
                    "project state follows its subscription"
                );
            }
            slugs.push(project.slug);
        }
        Ok(slugs)
    }

    async fn announce(&self, slugs: Vec<String>) {
        for slug in slugs {
            self.projects.announce(&slug).await;
        }
    }

    /// Applies plan changes that fell due and halts the projects of
    /// subscriptions deleted past their grace period. Run periodically by
    /// every replica; each step is idempotent, and one subscription that
    /// fails (Stripe down) does not hold up the others.
    pub async fn sweep(&self) -> Result<usize> {
        let now = self.now();
        let mut acted = 0;
        for row in subscriptions::list_sweepable(&self.db.conn, now).await? {
            let id = row.id;
            match self.sweep_one(row, now).await {
                Ok(true) => acted += 1,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(subscription = %id, error = %err, "billing sweep step failed");
                }
            }
        }
        Ok(acted)
    }

    async fn sweep_one(&self, row: SubscriptionRow, now: DateTime<Utc>) -> Result<bool> {
        let due = row
            .plan_changes_at
            .is_some_and(|at| at <= now)
            .then_some(row.plan_changes_to)
            .flatten();
        if let Some(plan) = due
            && plan != Plan::Free
            && let Some(provider) = &self.provider
        {
            let price = self.price_of(plan)?.to_owned();
            let remote = self.remote(provider.as_ref(), &row).await?;
            provider
                .change_price(&remote, &price, PriceChange::WithoutProration)
                .await
                .map_err(provider_error)?;
        }
        let builtin = self.provider.is_none();
        let before = projects::list_by_subscription(&self.db.conn, row.id).await?;
        let wanted = row.project_state(now, self.grace());
        if due.is_none() && before.iter().all(|p| p.state == wanted) {
            // Nothing due, nothing to halt: no write, no invalidation.
            return Ok(false);
        }
        let after = self
            .write_locked(row.id, now, |fresh| {
                // Only the change that was due when read (the owner may
                // have changed it meanwhile).
                if let Some(plan) = due
                    && fresh.plan_changes_to == Some(plan)
                {
                    if plan == Plan::Free && builtin {
                        // The built-in provider's cancellation at period end.
                        fresh.status = status::CANCELED.to_owned();
                    }
                    fresh.current_plan = plan;
                    fresh.plan_changes_to = None;
                    fresh.plan_changes_at = None;
                }
            })
            .await?;
        let state = after.map(|r| r.project_state(now, self.grace()));
        Ok(due.is_some() || before.iter().any(|p| Some(p.state) != state))
    }

    /// Runs [`Self::sweep`] every `sweep_interval_secs`.
    pub fn spawn_sweeper(&self) {
        let this = self.clone();
        let every = std::time::Duration::from_secs(self.settings.sweep_interval_secs.max(1));
        kernel::periodic::spawn_every(every, "billing sweep", move || {
            let this = this.clone();
            async move { this.sweep().await.map(drop) }
        });
    }

    /// Whether payments go through Stripe.
    pub fn uses_stripe(&self) -> bool {
        self.provider.is_some()
    }
}

/// A subscription as its audit events record it.
fn audited(row: &SubscriptionRow) -> Value {
    serde_json::to_value(row.view()).unwrap_or(Value::Null)
}

/// What a project's log shows of its subscription: plan and status.
fn plan_part(audited: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "status",
        "current_plan",
        "plan_changes_to",
        "plan_changes_at",
    ] {
        if let Some(value) = audited.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(out)
}
