//! How often and how long a D1 call is tried again: exponential backoff with jitter within a
//! time budget, and D1's `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with jitter for requests that certainly did not reach D1 (connect
/// failures, connect timeouts) and for 503, bounded only by a time budget: attempts go on until
/// the next one would start after `budget` has passed since the first. D1's `Retry-After` is
/// honoured, capped by what is left of the budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of one backoff delay (a longer `Retry-After` is still honoured).
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt. Zero: no retry.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// 0.5 s doubling to at most 8 s, within 30 s.
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            budget: Duration::ZERO,
            ..Self::default()
        }
    }

    /// The delay before attempt `attempts + 1`, or `None` when the budget is spent.
    ///
    /// The backoff is exponential with jitter (uniformly between half and all of
    /// `initial_delay × 2^(attempts-1)`, at most `max_delay`); a `Retry-After` from D1 makes it
    /// at least that long. The delay is cut to what is left of the budget, so the last attempt
    /// starts when the budget ends, never after.
    pub fn delay_after(
        &self,
        attempts: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let left = self.budget.checked_sub(elapsed).filter(|l| !l.is_zero())?;
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = Duration::from_nanos(
            rand::rng().random_range(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64),
        );
        let backoff = half + jitter;
        let delay = retry_after.map_or(backoff, |wait| wait.max(backoff));
        Some(delay.min(left))
    }
}

/// `Retry-After` as D1 (or a gateway) may send it with a 503: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(
    value: &reqwest::header::HeaderValue,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delays of a run where every attempt fails, as the client would wait them.
    fn run(policy: &RetryPolicy, retry_after: Option<Duration>) -> Vec<Duration> {
        let mut elapsed = Duration::ZERO;
        let mut delays = Vec::new();
        let mut attempts = 1;
        while let Some(d) = policy.delay_after(attempts, elapsed, retry_after) {
            delays.push(d);
            elapsed += d;
            attempts += 1;
            assert!(attempts < 10_000, "the policy never stops");
        }
        delays
    }

    #[test]
    fn retries_go_on_until_the_budget_and_stop_exactly_there() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            let delays = run(&p, None);
            let total: Duration = delays.iter().sum();
            assert_eq!(
                total, p.budget,
                "the last attempt starts when the budget ends"
            );
            // 0.25–0.5, 0.5–1, 1–2, 2–4, 4–8 s, then 4–8 s each: at least 7 attempts in 30 s.
            assert!(delays.len() >= 6, "{delays:?}");
            assert!(delays.iter().all(|d| *d <= p.max_delay), "{delays:?}");
        }
    }

    #[test]
    fn a_longer_budget_buys_more_attempts_no_hidden_cap() {
        let p = RetryPolicy {
            budget: Duration::from_secs(300),
            ..RetryPolicy::default()
        };
        let delays = run(&p, None);
        assert_eq!(delays.iter().sum::<Duration>(), p.budget);
        assert!(delays.len() >= 300 / 8, "{}", delays.len());
    }

    #[test]
    fn retry_after_is_honoured_and_capped_by_the_budget() {
        let p = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            budget: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let delays = run(&p, Some(Duration::from_secs(2)));
        assert_eq!(
            delays,
            vec![
                Duration::from_secs(2),
                Duration::from_secs(2),
                Duration::from_secs(1)
            ]
        );
        // A Retry-After longer than the whole budget: one last attempt at the budget's end.
        let delays = run(&p, Some(Duration::from_secs(60)));
        assert_eq!(delays, vec![Duration::from_secs(5)]);
        // Longer than max_delay is still honoured.
        let p = RetryPolicy {
            budget: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.delay_after(1, Duration::ZERO, Some(Duration::from_secs(20))),
            Some(Duration::from_secs(20))
        );
    }

    #[test]
    fn no_budget_means_no_retry() {
        assert!(run(&RetryPolicy::none(), None).is_empty());
        assert!(
            RetryPolicy::default()
                .delay_after(1, Duration::from_secs(30), None)
                .is_none()
        );
        assert!(
            RetryPolicy::default()
                .delay_after(1, Duration::from_secs(31), Some(Duration::from_secs(1)))
                .is_none()
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        use reqwest::header::HeaderValue;
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let parse = |v: &str| parse_retry_after(&HeaderValue::from_str(v).unwrap(), now);
        assert_eq!(parse("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse(&later), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse(&past), Some(Duration::ZERO));
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("1.5"), None);
    }
}
