//! Waiting between tries: exponential backoff with full jitter, and the jitter of the schedule,
//! so that a fleet of agents that lost the collector together does not come back in lockstep.

use std::time::Duration;

/// Never retry sooner than this: a failure that comes back at once must not become a busy loop.
const FLOOR: Duration = Duration::from_millis(100);

/// Exponential backoff with full jitter: the n-th wait is uniform in [0, min(cap, base * 2^n)]
/// (never under [`FLOOR`]).
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The wait after one more failure. `at_least` (a collector's `Retry-After`) wins when
    /// longer.
    pub fn next(&mut self, at_least: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1 << self.failures.min(20))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        random_up_to(ceiling)
            .max(FLOOR)
            .max(at_least.unwrap_or_default())
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A uniformly random duration in [0, max].
pub fn random_up_to(max: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    // The system RNG cannot fail on the platforms we build for; without it, no jitter.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return max;
    }
    let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_and_stay_random_below_it() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let waits: Vec<Duration> = (0..12).map(|_| backoff.next(None)).collect();
        for (n, wait) in waits.iter().enumerate() {
            let ceiling = Duration::from_secs(1 << n.min(6)).min(Duration::from_secs(60));
            assert!(*wait <= ceiling, "wait {n} is {wait:?}, over {ceiling:?}");
            assert!(*wait >= FLOOR, "wait {n} is {wait:?}");
        }
        // Full jitter: late waits spread over [0, cap], not all at the cap.
        let late: Vec<Duration> = (0..50).map(|_| backoff.next(None)).collect();
        assert!(
            late.iter().any(|wait| *wait < Duration::from_secs(30)),
            "{late:?}"
        );
        assert!(
            late.iter().any(|wait| *wait > Duration::from_secs(30)),
            "{late:?}"
        );
        backoff.reset();
        assert!(backoff.next(None) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        assert!(backoff.next(Some(Duration::from_secs(90))) >= Duration::from_secs(90));
        assert_eq!(backoff.failures(), 1);
    }
}
