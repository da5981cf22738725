//! Tenant rate limits: Ory Network's buckets, each a token bucket with a
//! sustained rate (requests per minute) and a burst (how many requests may
//! come at once), sized per plan. The figures are defaults; every one can
//! be overridden in settings (`rate_limit.plans.<plan>.<bucket>`).

use serde::{Deserialize, Serialize};

/// A named group of tenant endpoints sharing one limit, as Ory names them
/// (`{service}-{access}-{allowance}`: "high" is the larger allowance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `GET /sessions/whoami`: every page view of the customer's app.
    KratosPublicHigh,
    /// Every other public identity route: self-service flows, the user's
    /// own sessions, schemas, the hosted UI.
    KratosPublicLow,
    /// Admin reads of identities, sessions, schemas.
    KratosAdminHigh,
    /// Admin writes: identities, recovery links, session revocation.
    KratosAdminLow,
    /// Permission checks and expansions.
    KetoPublicHigh,
    /// Listing relation tuples.
    KetoPublicLow,
    /// Writing relation tuples (Ory counts these in an "admin-high" bucket).
    KetoAdminHigh,
}

impl Bucket {
    pub const ALL: [Bucket; 7] = [
        Bucket::KratosPublicHigh,
        Bucket::KratosPublicLow,
        Bucket::KratosAdminHigh,
        Bucket::KratosAdminLow,
        Bucket::KetoPublicHigh,
        Bucket::KetoPublicLow,
        Bucket::KetoAdminHigh,
    ];

    /// Ory's name, used in 429 answers and counter keys.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::KratosPublicHigh => "kratos-public-high",
            Bucket::KratosPublicLow => "kratos-public-low",
            Bucket::KratosAdminHigh => "kratos-admin-high",
            Bucket::KratosAdminLow => "kratos-admin-low",
            Bucket::KetoPublicHigh => "keto-public-high",
            Bucket::KetoPublicLow => "keto-public-low",
            Bucket::KetoAdminHigh => "keto-admin-high",
        }
    }
}

/// One bucket's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketLimit {
    /// Sustained rate: tokens added per minute.
    pub per_minute: u32,
    /// Bucket size: requests allowed at once after a quiet spell.
    pub burst: u32,
}

impl BucketLimit {
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

/// The figures of every bucket for one plan. Field names are the bucket
/// names with `_` (so they can be set from the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub kratos_public_high: BucketLimit,
    pub kratos_public_low: BucketLimit,
    pub kratos_admin_high: BucketLimit,
    pub kratos_admin_low: BucketLimit,
    pub keto_public_high: BucketLimit,
    pub keto_public_low: BucketLimit,
    pub keto_admin_high: BucketLimit,
}

impl RateLimits {
    pub fn of(&self, bucket: Bucket) -> BucketLimit {
        match bucket {
            Bucket::KratosPublicHigh => self.kratos_public_high,
            Bucket::KratosPublicLow => self.kratos_public_low,
            Bucket::KratosAdminHigh => self.kratos_admin_high,
            Bucket::KratosAdminLow => self.kratos_admin_low,
            Bucket::KetoPublicHigh => self.keto_public_high,
            Bucket::KetoPublicLow => self.keto_public_low,
            Bucket::KetoAdminHigh => self.keto_admin_high,
        }
    }

    /// `Err((bucket, reason))` for a figure that can never let a request in.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        for bucket in Bucket::ALL {
            let limit = self.of(bucket);
            if limit.per_minute == 0 || limit.burst == 0 {
                return Err((bucket.name(), "per_minute and burst must be at least 1"));
            }
        }
        Ok(())
    }

    /// Every bucket of `self` times `factor` (the paid plans scale the
    /// free one).
    const fn scaled(self, factor: u32) -> Self {
        const fn times(l: BucketLimit, f: u32) -> BucketLimit {
            BucketLimit::new(l.per_minute * f, l.burst * f)
        }
        Self {
            kratos_public_high: times(self.kratos_public_high, factor),
            kratos_public_low: times(self.kratos_public_low, factor),
            kratos_admin_high: times(self.kratos_admin_high, factor),
            kratos_admin_low: times(self.kratos_admin_low, factor),
            keto_public_high: times(self.keto_public_high, factor),
            keto_public_low: times(self.keto_public_low, factor),
            keto_admin_high: times(self.keto_admin_high, factor),
        }
    }
}

/// The free plan. Sized so that a person clicking through a UI (a page
/// view is 3-5 requests) and an SDK test suite run back to back (about 80
/// calls over a few seconds) never see a 429: each bucket takes 60 at
/// once, then a request every 100-300 ms.
pub const FREE: RateLimits = RateLimits {
    kratos_public_high: BucketLimit::new(600, 60),
    kratos_public_low: BucketLimit::new(300, 60),
    kratos_admin_high: BucketLimit::new(300, 60),
    kratos_admin_low: BucketLimit::new(200, 60),
    keto_public_high: BucketLimit::new(600, 60),
    keto_public_low: BucketLimit::new(300, 60),
    keto_admin_high: BucketLimit::new(300, 60),
};

/// Start-up (monthly or yearly): five times the free plan.
pub const START_UP: RateLimits = FREE.scaled(5);

/// Custom (negotiated) plans: fifty times the free plan.
pub const CUSTOM: RateLimits = FREE.scaled(50);

/// Each plan's figures; the settings' `rate_limit.plans`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanRateLimits {
    pub free: RateLimits,
    pub start_up: RateLimits,
    pub custom: RateLimits,
}

impl Default for PlanRateLimits {
    fn default() -> Self {
        Self {
            free: FREE,
            start_up: START_UP,
            custom: CUSTOM,
        }
    }
}

impl PlanRateLimits {
    pub fn validate(&self) -> Result<(), String> {
        for (plan, limits) in [
            ("free", &self.free),
            ("start_up", &self.start_up),
            ("custom", &self.custom),
        ] {
            limits
                .validate()
                .map_err(|(bucket, why)| format!("plans.{plan}.{bucket}: {why}"))?;
        }
        Ok(())
    }
}

impl BucketLimit {
    /// Time between two tokens, in microseconds.
    pub fn interval_us(self) -> u64 {
        60_000_000 / u64::from(self.per_minute.max(1))
    }
}

/// The generic cell rate algorithm, a token bucket kept as one number:
/// the "theoretical arrival time" (`tat`) at which the bucket would be
/// full again. Given the stored `tat` (None: a full bucket) and `now`, in
/// microseconds on one clock, answers `Ok(new tat)` when a token is there
/// (store it) or `Err(wait)`, the microseconds until one will be.
/// The Redis backend runs the same steps in Lua.
pub fn gcra(tat: Option<u64>, now: u64, limit: BucketLimit) -> Result<u64, u64> {
    let interval = limit.interval_us();
    let new_tat = tat.unwrap_or(now).max(now) + interval;
    let allowed_from = new_tat.saturating_sub(u64::from(limit.burst.max(1)) * interval);
    if now < allowed_from {
        Err(allowed_from - now)
    } else {
        Ok(new_tat)
    }
}

/// Exponential back-off after repeated attempts (failed logins): the first
/// `free` attempts go ahead at once; after that each one must wait
/// `base_ms * 2^(attempts - free)`, at most `max_ms`, after the previous
/// one. A counter untouched for `window_ms` starts over. Milliseconds on
/// the caller's clock (the engine's, so tests can move it rather than
/// sleep). The Redis backend runs the same steps in Lua.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackOff {
    pub free: u32,
    pub base_ms: u64,
    pub max_ms: u64,
    pub window_ms: u64,
}

/// One back-off counter: the attempts counted and when the last one was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    pub count: u32,
    pub last_ms: u64,
}

impl BackOff {
    /// The wait after `count` attempts: none below `free`, then doubling
    /// from `base_ms`, capped at `max_ms`. Saturates instead of
    /// overflowing, whatever the count.
    pub fn delay_ms(self, count: u32) -> u64 {
        if count < self.free {
            return 0;
        }
        let factor = 1u64.checked_shl(count - self.free).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(self.max_ms)
    }

    /// One more attempt at `now_ms`, given the stored counter: `Ok(counter
    /// to store)` when it may go ahead, else `Err(ms to wait)`. A refused
    /// attempt is not counted, so whoever waits out the delay gets in: this
    /// is a back-off, not a lock-out.
    pub fn attempt(self, stored: Option<Attempts>, now_ms: u64) -> Result<Attempts, u64> {
        let current = stored
            .filter(|a| now_ms.saturating_sub(a.last_ms) < self.window_ms)
            .unwrap_or_default();
        // A last attempt "in the future" (another replica's clock is ahead)
        // counts as just now, so a wait is never longer than `max_ms`.
        let elapsed = now_ms.saturating_sub(current.last_ms);
        let delay = self.delay_ms(current.count);
        if current.count >= self.free && elapsed < delay {
            return Err(delay - elapsed);
        }
        Ok(Attempts {
            count: current.count.saturating_add(1),
            last_ms: now_ms.max(current.last_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: BackOff = BackOff {
        free: 5,
        base_ms: 1_000,
        max_ms: 900_000,
        window_ms: 3_600_000,
    };

    #[test]
    fn back_off_doubles_from_the_base_up_to_the_cap_without_overflow() {
        assert_eq!(LOGIN.delay_ms(0), 0);
        assert_eq!(LOGIN.delay_ms(4), 0);
        assert_eq!(LOGIN.delay_ms(5), 1_000);
        assert_eq!(LOGIN.delay_ms(6), 2_000);
        assert_eq!(LOGIN.delay_ms(14), 512_000);
        assert_eq!(LOGIN.delay_ms(15), 900_000, "capped");
        for count in [63 + 5, 64 + 5, 1_000, u32::MAX] {
            assert_eq!(LOGIN.delay_ms(count), 900_000, "{count}");
        }
        let huge = BackOff {
            base_ms: u64::MAX,
            max_ms: u64::MAX,
            ..LOGIN
        };
        assert_eq!(huge.delay_ms(u32::MAX), u64::MAX, "saturates");
    }

    #[test]
    fn attempts_go_ahead_until_free_then_wait_out_each_delay() {
        let now = 1_000_000;
        let mut stored = None;
        for _ in 0..5 {
            stored = LOGIN.attempt(stored, now).ok();
            assert!(stored.is_some());
        }
        assert_eq!(LOGIN.attempt(stored, now), Err(1_000));
        assert_eq!(LOGIN.attempt(stored, now + 999), Err(1));
        // Refusals are not counted: waiting the delay out is enough.
        let sixth = LOGIN.attempt(stored, now + 1_000);
        assert_eq!(
            sixth,
            Ok(Attempts {
                count: 6,
                last_ms: now + 1_000
            })
        );
        assert_eq!(LOGIN.attempt(sixth.ok(), now + 2_999), Err(1));
        assert!(LOGIN.attempt(sixth.ok(), now + 3_000).is_ok());
        // A counter idle for the window is forgotten.
        let later = now + 1_000 + 3_600_000;
        assert_eq!(
            LOGIN.attempt(sixth.ok(), later),
            Ok(Attempts {
                count: 1,
                last_ms: later
            })
        );
    }

    #[test]
    fn a_counter_at_the_limit_of_every_figure_neither_overflows_nor_locks_out() {
        let full = Some(Attempts {
            count: u32::MAX,
            last_ms: u64::MAX - 10,
        });
        // A clock behind the stored one waits the capped delay, no longer.
        assert_eq!(LOGIN.attempt(full, 0), Err(900_000));
        assert_eq!(LOGIN.attempt(full, u64::MAX), Err(900_000 - 10));
        let many = Some(Attempts {
            count: u32::MAX,
            last_ms: 1_000,
        });
        assert_eq!(
            LOGIN.attempt(many, 901_000),
            Ok(Attempts {
                count: u32::MAX,
                last_ms: 901_000
            }),
            "the count saturates; the capped delay still ends"
        );
    }

    #[test]
    fn paid_plans_allow_more_in_every_bucket() {
        let plans = PlanRateLimits::default();
        assert!(plans.validate().is_ok());
        for bucket in Bucket::ALL {
            let (free, start_up, custom) = (
                plans.free.of(bucket),
                plans.start_up.of(bucket),
                plans.custom.of(bucket),
            );
            assert!(start_up.per_minute > free.per_minute && start_up.burst > free.burst);
            assert!(custom.per_minute > start_up.per_minute && custom.burst > start_up.burst);
        }
    }

    #[test]
    fn gcra_allows_the_burst_then_one_token_per_interval() {
        let limit = BucketLimit::new(60, 3); // a token a second, three at once
        let mut tat = None;
        let now = 1_000_000_000;
        for _ in 0..3 {
            tat = Some(gcra(tat, now, limit).unwrap_or(0));
        }
        assert_eq!(
            gcra(tat, now, limit),
            Err(1_000_000),
            "the fourth waits 1 s"
        );
        assert_eq!(gcra(tat, now + 999_999, limit), Err(1));
        let refilled = gcra(tat, now + 1_000_000, limit);
        assert!(refilled.is_ok(), "one token back after one interval");
        // After a long quiet spell the bucket is full again, never fuller.
        let later = now + 3_600_000_000;
        let mut tat = refilled.ok();
        for _ in 0..3 {
            tat = Some(gcra(tat, later, limit).unwrap_or(0));
        }
        assert!(gcra(tat, later, limit).is_err());
    }

    #[test]
    fn a_zero_figure_is_refused_naming_the_bucket() {
        let mut plans = PlanRateLimits::default();
        plans.start_up.keto_public_low.burst = 0;
        let err = plans.validate().err().unwrap_or_default();
        assert!(err.contains("plans.start_up.keto-public-low"), "{err}");
    }
}
