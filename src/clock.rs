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

    /// The moment on the UTC calendar.
    pub(crate) fn civil(self) -> Civil {
        let (year, month, day) = civil_from_days(self.days());
        let in_day = self.0.rem_euclid(SECONDS_PER_DAY);
        Civil {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day % 3600 / 60,
            second: in_day % 60,
        }
    }

    /// RFC 3339 in UTC: `2024-04-25T12:00:00Z`.
    pub(crate) fn rfc3339(self) -> String {
        let Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        } = self.civil();
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

/// A moment on the proleptic Gregorian calendar, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: i64,
    pub(crate) day: i64,
    pub(crate) hour: i64,
    pub(crate) minute: i64,
    pub(crate) second: i64,
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
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

    #[test]
    fn moments_print_as_rfc3339_in_utc() {
        let rfc3339 = |seconds| Timestamp::from_unix(seconds).rfc3339();
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_000_000), "2024-04-24T23:06:40Z");
        assert_eq!(rfc3339(1_764_929_531), "2025-12-05T10:12:11Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
