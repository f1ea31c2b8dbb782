//! The current time, as one value the settings carry, so that every date check of a run
//! (InRelease `Valid-Until` and `Date`, a release's maintenance and end of life) sees the same
//! moment, and tests can choose it.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment, in whole seconds since 1970-01-01 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(i64);

const SECONDS_PER_DAY: i64 = 86_400;

impl Timestamp {
    /// The system clock; a clock before 1970 reads as 1970.
    pub(crate) fn now() -> Timestamp {
        Timestamp(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                }),
        )
    }

    pub(crate) fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    pub(crate) fn unix(self) -> i64 {
        self.0
    }

    /// Whole days since 1970-01-01, as release maintenance dates count them.
    pub(crate) fn days(self) -> i64 {
        self.0.div_euclid(SECONDS_PER_DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_whole_days_since_the_epoch() {
        assert_eq!(Timestamp::from_unix(0).days(), 0);
        assert_eq!(Timestamp::from_unix(86_399).days(), 0);
        // 2026-12-06T00:00:00Z
        assert_eq!(Timestamp::from_unix(1_796_515_200).days(), 20_793);
        assert_eq!(Timestamp::from_unix(-1).days(), -1);
    }
}
