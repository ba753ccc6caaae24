//! How much one client may ask of the function, defined once for every place that
//! enforces it:
//!
//! - production: the WAF's rate-based rules on the CloudFront distribution
//!   (`infra/waf.yaml`, per viewer IP over [`WINDOW_SECS`]) and API Gateway's route
//!   throttles per audience (`infra/template.yaml`, all clients together: citizens,
//!   officers and the widgets each have their own budget, so one cannot starve another);
//! - locally: the same per-client limits in process ([`ClientLimiter`]), as token buckets
//!   that hold `per_window` requests and refill over the window.
//!
//! `tests/limits.rs` reads both templates and checks they say what this table says.
//!
//! The limits are loose on purpose: a whole commune can sit behind one carrier-NAT or
//! office Wi-Fi address. They stop a script, not a village. What a script could still do
//! within them is bounded elsewhere: the day's codes one source may take
//! (`MOTCUA_DOSSIERS_PER_SOURCE_PER_DAY`) and the notices one phone or address receives.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::Method;
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

/// The WAF's evaluation window, which the local buckets refill over.
pub const WINDOW_SECS: u64 = 300;

/// A limit per client address on the requests that match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimit {
    /// The WAF rule's name (`MotCua-{name}`) and the limit's name in logs.
    pub name: &'static str,
    /// Only requests with this method count (`None`: every method).
    pub method: Option<&'static str>,
    /// Requests whose path starts with this count.
    pub path_prefix: &'static str,
    /// Requests one address may make in [`WINDOW_SECS`].
    pub per_window: u32,
}

impl ClientLimit {
    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.is_none_or(|m| m == method.as_str()) && path.starts_with(self.path_prefix)
    }
}

/// Every per-client limit. A request counts against each limit it matches, as with the
/// WAF, which evaluates every rule.
pub const CLIENT_LIMITS: &[ClientLimit] = &[
    // Dossiers and supplements, JSON and plain form: a person sends one or two, with a
    // retry or a corrected field each.
    ClientLimit {
        name: "dossiers",
        method: Some("POST"),
        path_prefix: "/api/dossiers",
        per_window: 30,
    },
    // Upload tickets and their checks: two calls per attempt.
    ClientLimit {
        name: "uploads",
        method: Some("POST"),
        path_prefix: "/api/uploads",
        per_window: 60,
    },
    // Officers' sign-in: an office of officers shares one address.
    ClientLimit {
        name: "login",
        method: Some("POST"),
        path_prefix: "/api/admin/login",
        per_window: 20,
    },
    // Everything under /api: pages, tracking, the console's lists, the widgets.
    ClientLimit {
        name: "api",
        method: None,
        path_prefix: "/api/",
        per_window: 1500,
    },
];

/// API Gateway's throttle for one audience's route: all its clients together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudienceThrottle {
    /// The HTTP API's route key in the template.
    pub route_key: &'static str,
    /// Steady requests per second.
    pub rate: f64,
    /// Requests at once.
    pub burst: u32,
}

/// Citizens, officers and the widgets each get their own budget.
pub const AUDIENCE_THROTTLES: &[AudienceThrottle] = &[
    AudienceThrottle {
        route_key: "ANY /api/{proxy+}",
        rate: 20.0,
        burst: 50,
    },
    AudienceThrottle {
        route_key: "ANY /api/admin/{proxy+}",
        rate: 10.0,
        burst: 20,
    },
    AudienceThrottle {
        route_key: "GET /api/stats",
        rate: 100.0,
        burst: 200,
    },
    AudienceThrottle {
        route_key: "POST /api/stats",
        rate: 100.0,
        burst: 200,
    },
    AudienceThrottle {
        route_key: "GET /api/polls/{id}",
        rate: 50.0,
        burst: 100,
    },
    AudienceThrottle {
        route_key: "POST /api/polls/{id}",
        rate: 50.0,
        burst: 100,
    },
];

type KeyedLimiter =
    RateLimiter<IpAddr, governor::state::keyed::DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// A refused request: which limit, and how long until one more is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    pub limit: &'static str,
    pub retry_after: Duration,
}

/// The per-client limits in process, one bucket per address and limit.
pub struct ClientLimiter {
    limits: Vec<(ClientLimit, KeyedLimiter)>,
    checks: std::sync::atomic::AtomicU64,
}

impl ClientLimiter {
    pub fn new(limits: &[ClientLimit]) -> ClientLimiter {
        ClientLimiter {
            limits: limits
                .iter()
                .map(|l| (*l, RateLimiter::keyed(quota(l))))
                .collect(),
            checks: Default::default(),
        }
    }

    /// Counts a request from `client`; refuses it if any limit it matches is spent.
    /// Every matching bucket is checked, so one refused limit still counts in the
    /// others, as the WAF does.
    pub fn check(&self, client: IpAddr, method: &Method, path: &str) -> Result<(), OverLimit> {
        // Forget idle addresses now and then, so the map does not grow without end.
        if self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .is_multiple_of(10_000)
        {
            for (_, limiter) in &self.limits {
                limiter.retain_recent();
            }
        }
        let mut refused: Option<OverLimit> = None;
        for (limit, limiter) in &self.limits {
            if !limit.matches(method, path) {
                continue;
            }
            if let Err(not_until) = limiter.check_key(&client) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                if refused.is_none_or(|r| r.retry_after < wait) {
                    refused = Some(OverLimit {
                        limit: limit.name,
                        retry_after: wait,
                    });
                }
            }
        }
        refused.map_or(Ok(()), Err)
    }
}

/// `per_window` at once, one more every `WINDOW_SECS / per_window`.
fn quota(limit: &ClientLimit) -> Quota {
    let per_window = NonZeroU32::new(limit.per_window).expect("limits are above zero");
    Quota::with_period(Duration::from_secs(WINDOW_SECS) / per_window.get())
        .expect("the period is above zero")
        .allow_burst(per_window)
}

/// Seconds for `Retry-After`: whole, and at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_gets_its_window_then_waits() {
        let limiter = ClientLimiter::new(CLIENT_LIMITS);
        let a = ip("203.0.113.7");
        for n in 0..30 {
            assert!(
                limiter.check(a, &Method::POST, "/api/dossiers").is_ok(),
                "request {n}"
            );
        }
        let refused = limiter
            .check(a, &Method::POST, "/api/dossiers/form")
            .unwrap_err();
        assert_eq!(refused.limit, "dossiers");
        // One more every ten seconds.
        assert!(refused.retry_after <= Duration::from_secs(10));
        assert!(retry_after_secs(refused.retry_after) >= 1);
        // Another address, and another route of the same address, are not held back.
        assert!(
            limiter
                .check(ip("203.0.113.8"), &Method::POST, "/api/dossiers")
                .is_ok()
        );
        assert!(limiter.check(a, &Method::GET, "/api/track").is_ok());
    }

    #[test]
    fn the_general_limit_counts_every_route() {
        let limiter = ClientLimiter::new(&[ClientLimit {
            name: "api",
            method: None,
            path_prefix: "/api/",
            per_window: 3,
        }]);
        let a = ip("2001:db8::1");
        assert!(limiter.check(a, &Method::GET, "/api/track").is_ok());
        assert!(limiter.check(a, &Method::POST, "/api/dossiers").is_ok());
        assert!(limiter.check(a, &Method::GET, "/api/stats").is_ok());
        assert!(limiter.check(a, &Method::GET, "/api/health").is_err());
        assert!(limiter.check(a, &Method::GET, "/about/").is_ok());
    }

    #[test]
    fn every_limit_is_above_the_wafs_floor() {
        // WAF rate-based rules take a limit of at least 10 (and the window we use).
        for l in CLIENT_LIMITS {
            assert!(l.per_window >= 10, "{}", l.name);
            assert!(l.path_prefix.starts_with("/api/"), "{}", l.name);
        }
        assert!([60, 120, 300, 600].contains(&WINDOW_SECS));
    }
}
