//! When to try a failed delivery again, and when to give up: EventBridge's policy for targets
//! (24 hours or 185 attempts, whichever comes first), with exponential backoff and full jitter.

use findinghub_asff::timestamp::Micros;

const SECOND: Micros = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts, the first included.
    pub max_attempts: u32,
    /// How long after its creation a delivery may still be tried.
    pub max_age: Micros,
    /// The wait after the first failure; it doubles with each failure.
    pub base_delay: Micros,
    /// The longest wait between two attempts.
    pub max_delay: Micros,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 185, max_age: 24 * 3600 * SECOND, base_delay: SECOND, max_delay: 300 * SECOND }
    }
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Micros),
    GiveUp,
}

impl RetryPolicy {
    /// After attempt number `attempts` (1 for the first) failed at `now`. `jitter` is in [0, 1):
    /// the wait is drawn between half and all of the exponential delay, so that the deliveries
    /// that failed together do not all come back at once.
    pub fn after_failure(&self, attempts: u32, created_at: Micros, now: Micros, jitter: f64) -> AfterFailure {
        if attempts >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let exponent = attempts.saturating_sub(1).min(40);
        let full = self.base_delay.saturating_mul(1_i64 << exponent).min(self.max_delay);
        let jitter = jitter.clamp(0.0, 1.0);
        let wait = (full as f64 * (0.5 + jitter / 2.0)) as Micros;
        let at = now.saturating_add(wait.max(1));
        if at > created_at.saturating_add(self.max_age) {
            return AfterFailure::GiveUp;
        }
        AfterFailure::RetryAt(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<Micros> = (1..=12)
            .map(|n| match p.after_failure(n, 0, 0, 1.0) {
                AfterFailure::RetryAt(t) => t / SECOND,
                AfterFailure::GiveUp => -1,
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(p.after_failure(3, 0, 0, 0.0), AfterFailure::RetryAt(2 * SECOND), "jitter halves at most");
    }

    #[test]
    fn gives_up_after_185_attempts_or_24_hours() {
        let p = RetryPolicy::default();
        assert_eq!(p.after_failure(185, 0, 0, 0.5), AfterFailure::GiveUp);
        assert!(matches!(p.after_failure(184, 0, 0, 0.5), AfterFailure::RetryAt(_)));
        let day = 24 * 3600 * SECOND;
        assert_eq!(p.after_failure(20, 0, day - 10 * SECOND, 1.0), AfterFailure::GiveUp, "the next try is past 24 h");
        assert!(matches!(p.after_failure(20, 0, day - 400 * SECOND, 1.0), AfterFailure::RetryAt(_)));
    }

    #[test]
    fn the_default_policy_reaches_24_hours_before_185_attempts() {
        // With waits of at most 300 s, 185 attempts take at most about 15 hours: the attempt
        // limit can come first when waits are short, and the age limit when they are long.
        let p = RetryPolicy::default();
        let (mut now, mut attempts) = (0, 0);
        while let AfterFailure::RetryAt(t) = p.after_failure(attempts + 1, 0, now, 1.0) {
            attempts += 1;
            now = t;
        }
        assert_eq!(attempts + 1, 185, "the attempt limit ends it with maximal waits");
        assert!(now < 24 * 3600 * SECOND);
    }
}
