//! Retry delays (docs/design.md, "Retries, backoff and timeouts") and the error backoff
//! of the background loops.

use crate::model::RetryOptions;
use rand::Rng;
use std::time::Duration;

/// The delay before the retry that follows failure number `attempt`
/// (0-based: `attempt` is the execution's attempt counter *before* the
/// retry), without jitter:
///
/// `base_delay_ms * delay_multiplier ^ attempt`, capped at `max_delay_ms`.
/// The base defaults to 0 and the multiplier to 1.
pub fn retry_delay_ms(options: &RetryOptions, attempt: u32) -> f64 {
    let base = options.base_delay_ms.unwrap_or(0) as f64;
    let multiplier = options.delay_multiplier.unwrap_or(1.0);
    let mut delay = if attempt > 0 {
        base * multiplier.powi(i32::try_from(attempt).unwrap_or(i32::MAX))
    } else {
        base
    };
    if let Some(max) = options.max_delay_ms {
        delay = delay.min(max as f64);
    }
    if delay.is_finite() {
        delay.max(0.0)
    } else {
        0.0
    }
}

/// [`retry_delay_ms`] spread by the options' jitter (a fraction: `0.2` means
/// a uniformly random factor in `[0.8, 1.2]`), rounded to whole
/// milliseconds.
pub fn retry_delay_with_jitter_ms(options: &RetryOptions, attempt: u32) -> u64 {
    let delay = retry_delay_ms(options, attempt);
    let jitter = options.jitter.unwrap_or(0.0).clamp(0.0, 1.0);
    let delay = if jitter > 0.0 && delay > 0.0 {
        delay * rand::rng().random_range((1.0 - jitter)..=(1.0 + jitter))
    } else {
        delay
    };
    // Saturating float to integer conversion; the value is finite and ≥ 0.
    delay.round() as u64
}

/// `duration` multiplied by a random factor in `[1 - spread, 1 + spread]`.
pub(crate) fn jittered(duration: Duration, spread: f64) -> Duration {
    let spread = spread.clamp(0.0, 1.0);
    if spread == 0.0 || duration.is_zero() {
        return duration;
    }
    duration.mul_f64(rand::rng().random_range((1.0 - spread)..=(1.0 + spread)))
}

/// Exponential backoff for a background loop that keeps failing: starts at
/// `base`, doubles per consecutive error, capped at `cap`, jittered ±25 %.
#[derive(Debug, Clone)]
pub(crate) struct ErrorBackoff {
    base: Duration,
    cap: Duration,
    consecutive_errors: u32,
}

impl ErrorBackoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
            consecutive_errors: 0,
        }
    }

    /// Records a failure and returns how long to wait before trying again.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let exponent = self.consecutive_errors.min(20);
        self.consecutive_errors = self.consecutive_errors.saturating_add(1);
        let delay = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        jittered(delay, 0.25)
    }

    /// How many failures in a row were recorded.
    pub(crate) fn consecutive_errors(&self) -> u32 {
        self.consecutive_errors
    }

    /// Records a success.
    pub(crate) fn reset(&mut self) {
        self.consecutive_errors = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(base: u64, multiplier: f64, max: Option<u64>) -> RetryOptions {
        RetryOptions {
            max_attempts: 5,
            base_delay_ms: Some(base),
            delay_multiplier: Some(multiplier),
            max_delay_ms: max,
            jitter: None,
        }
    }

    #[test]
    fn delay_follows_the_reference_example() {
        // X5: base 100, multiplier 1.5, max 1000.
        let o = options(100, 1.5, Some(1000));
        let delays: Vec<f64> = (0..5).map(|n| retry_delay_ms(&o, n)).collect();
        assert_eq!(delays, vec![100.0, 150.0, 225.0, 337.5, 506.25]);
        assert_eq!(retry_delay_ms(&o, 10), 1000.0);
    }

    #[test]
    fn defaults_give_no_delay() {
        let o = RetryOptions {
            max_attempts: 3,
            ..Default::default()
        };
        assert_eq!(retry_delay_ms(&o, 0), 0.0);
        assert_eq!(retry_delay_ms(&o, 7), 0.0);
        assert_eq!(retry_delay_with_jitter_ms(&o, 3), 0);
    }

    #[test]
    fn huge_exponents_saturate_at_the_cap() {
        let o = options(1000, 10.0, Some(60_000));
        assert_eq!(retry_delay_ms(&o, 1000), 60_000.0);
        let uncapped = options(1000, 10.0, None);
        assert!(retry_delay_ms(&uncapped, 1000).is_finite());
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let mut o = options(1000, 1.0, None);
        o.jitter = Some(0.2);
        for _ in 0..200 {
            let d = retry_delay_with_jitter_ms(&o, 1);
            assert!((800..=1200).contains(&d), "{d}");
        }
    }

    #[test]
    fn error_backoff_grows_to_the_cap_and_resets() {
        let mut backoff = ErrorBackoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let first = backoff.next_delay();
        assert!(first >= Duration::from_millis(75) && first <= Duration::from_millis(125));
        for _ in 0..10 {
            let d = backoff.next_delay();
            assert!(d <= Duration::from_millis(1250));
        }
        assert_eq!(backoff.consecutive_errors(), 11);
        let capped = backoff.next_delay();
        assert!(capped >= Duration::from_millis(750));
        backoff.reset();
        assert_eq!(backoff.consecutive_errors(), 0);
    }

    #[test]
    fn jittered_respects_spread() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(100), 0.5);
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_millis(150));
        }
        assert_eq!(
            jittered(Duration::from_millis(100), 0.0),
            Duration::from_millis(100)
        );
    }
}
