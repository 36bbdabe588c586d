//! When a failed delivery is tried again. Ladders per channel, with ±10 % jitter so a burst of failures
//! does not retry in lockstep; a `Retry-After` from the receiver wins when it asks for longer.

use chrono::Duration;
use rand::Rng;

use crate::channel::ChannelKind;

/// Delay before attempt `attempts + 1`, or None when no retry is left (`attempts` = tries made so far).
pub fn next_delay(channel: ChannelKind, attempts: u32, retry_after: Option<Duration>) -> Option<Duration> {
    let ladder: &[i64] = match channel {
        // Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h.
        ChannelKind::Webhook | ChannelKind::Agent => &[5, 300, 1800, 7200, 18_000, 36_000],
        ChannelKind::Email => &[30, 120, 600, 1800, 3600],
        // SMS is retried only when the provider said no before sending (429/5xx); see the sms agent.
        ChannelKind::Sms => &[30, 300],
        ChannelKind::Pull => &[5, 30, 300],
        // A push service that answers 429 or 5xx is back within minutes; a notification hours late is noise.
        ChannelKind::Push => &[10, 60, 300, 900],
    };
    let base = *ladder.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let jitter = rand::rng().random_range(0.9..=1.1);
    let delay = Duration::milliseconds((base as f64 * 1000.0 * jitter) as i64);
    Some(match retry_after {
        Some(asked) if asked > delay => asked,
        _ => delay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_ladder_with_jitter_and_retry_after() {
        let first = next_delay(ChannelKind::Webhook, 1, None).unwrap();
        assert!(first >= Duration::milliseconds(4500) && first <= Duration::milliseconds(5500), "{first}");
        let sixth = next_delay(ChannelKind::Webhook, 6, None).unwrap();
        assert!(sixth >= Duration::hours(9));
        assert_eq!(next_delay(ChannelKind::Webhook, 7, None), None, "seven attempts in all");
        assert_eq!(next_delay(ChannelKind::Webhook, 1, Some(Duration::seconds(60))), Some(Duration::seconds(60)));
        assert_eq!(next_delay(ChannelKind::Webhook, 0, None), None);
    }
}
