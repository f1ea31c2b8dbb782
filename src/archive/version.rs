//! Debian package version numbers, parsed and ordered exactly as dpkg does
//! (Debian Policy §5.6.12), so that "newest candidate" decisions made by kerf
//! agree with what apt and dpkg would pick.
//!
//! Parsing is deliberately lenient in one respect: an upstream version that
//! does not start with a digit (e.g. `git20240101` or `~rc1`) is accepted,
//! because dpkg only warns about it and such versions occur in real archives.
//! It is stricter than dpkg's lax mode (`dpkg --compare-versions`) in two:
//! characters outside Policy's set are errors (dpkg only errors on them in
//! strict mode), and the epoch must be plain digits (dpkg's `strtol` lets a
//! `+` sign through). The input is not trimmed: surrounding whitespace is
//! reported as an invalid character, since deb822 field values arrive
//! already trimmed from the control-file parser.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Why a string is not a valid Debian version; every variant carries the
/// offending input so the message stands on its own in a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VersionError {
    #[error("invalid version \"\": expected a non-empty version string")]
    Empty,
    #[error("invalid version {input:?}: epoch before ':' is empty; expected decimal digits")]
    EmptyEpoch { input: String },
    #[error(
        "invalid version {input:?}: epoch {epoch:?} is not a number; expected only decimal digits before the first ':'"
    )]
    NonNumericEpoch { input: String, epoch: String },
    #[error("invalid version {input:?}: epoch {epoch:?} is too large; expected at most {max}", max = u64::MAX)]
    EpochTooLarge { input: String, epoch: String },
    #[error(
        "invalid version {input:?}: upstream version is empty; expected at least one character between the epoch and the revision"
    )]
    EmptyUpstream { input: String },
    #[error(
        "invalid version {input:?}: revision after the last '-' is empty; expected at least one character after it"
    )]
    EmptyRevision { input: String },
    #[error(
        "invalid version {input:?}: character {ch:?} at byte {pos} is not allowed in the {part}; expected {expected}"
    )]
    InvalidChar {
        input: String,
        ch: char,
        pos: usize,
        part: &'static str,
        expected: &'static str,
    },
}

/// A parsed Debian version. The original text is kept verbatim so `Display`
/// round-trips, while comparisons use dpkg's ordering. Because that ordering
/// treats e.g. `1.0` and `1.00` as equal, `==` (and `Hash`) follow the
/// ordering rather than the text; use [`Version::as_str`] for textual identity.
#[derive(Clone)]
pub(crate) struct Version {
    text: Box<str>,
    epoch: u64,
    /// Byte range of the upstream part within `text`; the revision, if any,
    /// starts one byte (the `-`) after `upstream_end`.
    upstream_start: usize,
    upstream_end: usize,
}

const UPSTREAM_EXPECTED: &str = "ASCII letters, digits or one of . + ~ - :";
const REVISION_EXPECTED: &str = "ASCII letters, digits or one of . + ~";

impl Version {
    /// Parses `input`, enforcing dpkg's hard errors (see the module docs for
    /// the one deliberate leniency).
    pub(crate) fn parse(input: &str) -> Result<Version, VersionError> {
        if input.is_empty() {
            return Err(VersionError::Empty);
        }
        let owned = || input.to_owned();

        let (epoch, upstream_start) = match input.find(':') {
            None => (0, 0),
            Some(colon) => {
                let digits = &input[..colon];
                if digits.is_empty() {
                    return Err(VersionError::EmptyEpoch { input: owned() });
                }
                (parse_epoch(input, digits)?, colon + 1)
            }
        };

        let rest = &input[upstream_start..];
        let upstream_end = match rest.rfind('-') {
            Some(dash) => {
                if dash + 1 == rest.len() {
                    return Err(VersionError::EmptyRevision { input: owned() });
                }
                upstream_start + dash
            }
            None => input.len(),
        };
        if upstream_end == upstream_start {
            return Err(VersionError::EmptyUpstream { input: owned() });
        }

        // A '-' or ':' left inside the upstream part is fine: the splits above
        // guarantee a revision / epoch exists, which is what Policy requires.
        check_chars(
            input,
            upstream_start,
            upstream_end,
            "upstream version",
            UPSTREAM_EXPECTED,
            |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~' | b'-' | b':'),
        )?;
        if upstream_end < input.len() {
            check_chars(
                input,
                upstream_end + 1,
                input.len(),
                "revision",
                REVISION_EXPECTED,
                |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~'),
            )?;
        }

        Ok(Version {
            text: input.into(),
            epoch,
            upstream_start,
            upstream_end,
        })
    }

    /// The epoch; `0` when the version has none, which is how dpkg treats it.
    #[cfg(test)]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The upstream part, between the epoch's `:` and the revision's `-`.
    pub(crate) fn upstream(&self) -> &str {
        &self.text[self.upstream_start..self.upstream_end]
    }

    /// The Debian revision; empty for native packages, which compares as
    /// lower than any revision except `0`-likes and `~`-prefixed ones.
    pub(crate) fn revision(&self) -> &str {
        if self.upstream_end < self.text.len() {
            &self.text[self.upstream_end + 1..]
        } else {
            ""
        }
    }

    #[cfg(test)]
    /// The exact text that was parsed, for building file names and URLs.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

fn parse_epoch(input: &str, digits: &str) -> Result<u64, VersionError> {
    let mut value: u64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return Err(VersionError::NonNumericEpoch {
                input: input.to_owned(),
                epoch: digits.to_owned(),
            });
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| VersionError::EpochTooLarge {
                input: input.to_owned(),
                epoch: digits.to_owned(),
            })?;
    }
    Ok(value)
}

fn check_chars(
    input: &str,
    start: usize,
    end: usize,
    part: &'static str,
    expected: &'static str,
    allowed: impl Fn(u8) -> bool,
) -> Result<(), VersionError> {
    match input[start..end].char_indices().find(|&(_, c)| {
        // Non-ASCII chars never pass; `allowed` only ever sees ASCII bytes.
        !(c.is_ascii() && allowed(c as u8))
    }) {
        None => Ok(()),
        Some((offset, ch)) => Err(VersionError::InvalidChar {
            input: input.to_owned(),
            ch,
            pos: start + offset,
            part,
            expected,
        }),
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Version").field(&&*self.text).finish()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_fragment(self.upstream(), other.upstream()))
            .then_with(|| compare_fragment(self.revision(), other.revision()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        hash_fragment(self.upstream().as_bytes(), state);
        state.write_u8(0xff);
        hash_fragment(self.revision().as_bytes(), state);
    }
}

/// Sort weight of one byte of a non-digit run (`None` = end of the run).
/// `~` sorts before the end, letters after it, everything else after letters.
fn weight(b: Option<u8>) -> i32 {
    match b {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn digit_run_end(s: &[u8], from: usize) -> usize {
    from + s[from..].iter().take_while(|b| b.is_ascii_digit()).count()
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&b| b == b'0').count();
    &digits[zeros..]
}

/// dpkg's `verrevcmp`: alternate non-digit runs (compared by [`weight`]) and
/// digit runs (compared as arbitrarily long unsigned integers).
fn compare_fragment(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        loop {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let order = weight(ca).cmp(&weight(cb));
            if order != Ordering::Equal {
                return order;
            }
            // Equal non-zero weights mean both sides hold the same byte.
            i += 1;
            j += 1;
        }
        let (ea, eb) = (digit_run_end(a, i), digit_run_end(b, j));
        let (na, nb) = (strip_zeros(&a[i..ea]), strip_zeros(&b[j..eb]));
        let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if order != Ordering::Equal {
            return order;
        }
        i = ea;
        j = eb;
    }
    Ordering::Equal
}

/// Hashes the canonical form of a fragment under [`compare_fragment`]:
/// alternating non-digit runs and zero-stripped digit runs, with trailing
/// all-zero digits dropped (they compare equal to nothing at all).
fn hash_fragment<H: Hasher>(s: &[u8], state: &mut H) {
    let mut i = 0;
    let mut digits = false;
    while !s[i..].iter().all(|&b| b == b'0') {
        let end = i + s[i..]
            .iter()
            .take_while(|b| b.is_ascii_digit() == digits)
            .count();
        let token = if digits {
            strip_zeros(&s[i..end])
        } else {
            &s[i..end]
        };
        token.hash(state);
        i = end;
        digits = !digits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::DefaultHasher;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn hash_of(version: &Version) -> u64 {
        let mut h = DefaultHasher::new();
        version.hash(&mut h);
        h.finish()
    }

    /// (a, expected ordering of a relative to b, b)
    const CASES: &[(&str, Ordering, &str)] = {
        use Ordering::{Equal as EQ, Greater as GT, Less as LT};
        &[
            // From the brief / Debian Policy examples.
            ("1.0~rc1", LT, "1.0"),
            ("1.0", LT, "1.0+b1"),
            ("1:0.1", GT, "2.0"),
            ("1:1.18.36", LT, "1:1.18.37"),
            ("2.30-0ubuntu1", LT, "2.30-0ubuntu1.1"),
            ("3.0.13-0ubuntu3", LT, "3.0.13-0ubuntu3.1"),
            ("1.2.3-1", EQ, "1.2.3-01"),
            ("0:1.0", EQ, "1.0"),
            ("13ubuntu10.5", GT, "13ubuntu10"),
            ("2.39-0ubuntu8.3", GT, "2.39-0ubuntu8"),
            // Tilde chain through revisions: ~~ < ~~a < ~ < '' < a.
            ("1-~~", LT, "1-~~a"),
            ("1-~~a", LT, "1-~"),
            ("1-~", LT, "1"),
            ("1", LT, "1-a"),
            // Numeric runs.
            ("1.0", EQ, "1.00"),
            ("1.0", LT, "1.1"),
            ("1.9", LT, "1.10"),
            ("9", LT, "10"),
            ("0.9", LT, "1.0"),
            ("1.001", EQ, "1.1"),
            ("1.0", EQ, "1.0-0"),
            ("0:0-0-0", EQ, "0-0-0"),
            (
                "1.123456789012345678901234567890",
                GT,
                "1.123456789012345678901234567889",
            ),
            ("1.000000000000000000000000000000001", EQ, "1.1"),
            (
                "1.99999999999999999999999",
                LT,
                "1.100000000000000000000000",
            ),
            // Non-digit runs: ~ < end < letters < non-letters.
            ("1.0~", LT, "1.0"),
            ("1.0~~", LT, "1.0~"),
            ("1.0~alpha", LT, "1.0~beta"),
            ("1.0~beta", LT, "1.0~rc"),
            ("1.0~rc1", LT, "1.0~rc2"),
            ("1.0", LT, "1.0a"),
            ("1.0a", LT, "1.0b"),
            ("1.0a", LT, "1.0."),
            ("1.0a", LT, "1.0+"),
            ("1.0+", LT, "1.0."),
            ("1.0Z", LT, "1.0a"),
            ("1.0", LT, "1.0.0"),
            ("1", LT, "a"),
            ("a", LT, "b"),
            // Epochs dominate everything.
            ("1:1.0", GT, "1.0"),
            ("2:0", GT, "1:999999"),
            ("2:1.0~rc1", GT, "1:5"),
            ("1:2.3~git20230101", LT, "1:2.3"),
            // Revisions.
            ("1.0-1", LT, "1.0-2"),
            ("1.0-9", LT, "1.0-10"),
            ("1.0", LT, "1.0-1"),
            ("1.0-1ubuntu1", GT, "1.0-1"),
            ("1.0-1", LT, "1.0-1.1"),
            ("1.0-1build1", GT, "1.0-1"),
            ("1.0-1+b1", GT, "1.0-1"),
            ("1.0-1+b1", LT, "1.0-1.1"),
            ("1.0-1~bpo1", LT, "1.0-1"),
            ("2.30-0ubuntu1", LT, "2.30-1"),
            ("1.0-0ubuntu0.24.04.1", GT, "1.0-0ubuntu0.22.04.1"),
            ("2.4.52-1ubuntu4.9", LT, "2.4.52-1ubuntu4.10"),
            ("1.0-beta-2", LT, "1.0-beta-10"),
            // Upstream dominates revision.
            ("1.0+dfsg-1", GT, "1.0-1"),
            ("1.0+dfsg-1", LT, "1.0.1-1"),
            ("7.6p2-4", GT, "7.6-0"),
            ("1.0.3-3", GT, "1.0-1"),
            ("1.3", GT, "1.2.2-2"),
            ("1.2.2-2", LT, "1.2.2-10"),
            // Real Ubuntu noble-style versions.
            ("2.39-0ubuntu8.3", LT, "2.39-0ubuntu8.10"),
            ("6.8.0-31.31", LT, "6.8.0-35.36"),
            ("1:9.18.24-0ubuntu5", LT, "1:9.18.28-0ubuntu0.24.04.1"),
            ("3.12.3-0ubuntu1", GT, "3.12.3-0ubuntu0.1"),
            ("5.4.0+dfsg1-1", LT, "5.4.0+dfsg2-1"),
            ("1.1.1f-1ubuntu2", LT, "1.1.1f-1ubuntu2.1"),
        ]
    };

    #[test]
    fn table_of_known_orderings() {
        assert!(CASES.len() >= 40, "only {} cases", CASES.len());
        for &(a, expected, b) in CASES {
            let (va, vb) = (v(a), v(b));
            assert_eq!(va.cmp(&vb), expected, "{a} vs {b}");
            assert_eq!(vb.cmp(&va), expected.reverse(), "{b} vs {a} (antisymmetry)");
            assert_eq!(va == vb, expected == Ordering::Equal, "{a} == {b}");
            assert_eq!(va.partial_cmp(&vb), Some(expected), "{a} partial_cmp {b}");
            assert_eq!(va.cmp(&va), Ordering::Equal, "{a} reflexive");
            if expected == Ordering::Equal {
                assert_eq!(hash_of(&va), hash_of(&vb), "{a} and {b} must hash alike");
            }
        }
    }

    #[test]
    fn fragment_tilde_chain_including_empty() {
        // The policy example, including the empty string which cannot be a
        // whole version but is a legitimate (absent) revision.
        let chain = ["~~", "~~a", "~", "", "a"];
        for (i, a) in chain.iter().enumerate() {
            for (j, b) in chain.iter().enumerate() {
                assert_eq!(compare_fragment(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn fragment_edge_cases() {
        assert_eq!(compare_fragment("", ""), Ordering::Equal);
        assert_eq!(compare_fragment("", "0"), Ordering::Equal);
        assert_eq!(compare_fragment("", "000"), Ordering::Equal);
        assert_eq!(compare_fragment("a", "a0"), Ordering::Equal);
        assert_eq!(compare_fragment("1.", "1.0"), Ordering::Equal);
        // A leading zero-run is not the same as no run at all.
        assert_eq!(compare_fragment("0a", "a"), Ordering::Less);
        assert_eq!(compare_fragment("00a", "0a"), Ordering::Equal);
        assert_eq!(compare_fragment("1.0a", "1.a"), Ordering::Less);
        // Digit runs far beyond u64 range.
        let big = "9".repeat(100);
        let bigger = format!("1{}", "0".repeat(100));
        assert_eq!(compare_fragment(&big, &bigger), Ordering::Less);
        assert_eq!(
            compare_fragment(&format!("000{bigger}"), &bigger),
            Ordering::Equal
        );
    }

    #[test]
    fn parts_are_split_at_first_colon_and_last_dash() {
        let cases: &[(&str, u64, &str, &str)] = &[
            ("1.0", 0, "1.0", ""),
            ("0:1.0", 0, "1.0", ""),
            ("1:2.0-3", 1, "2.0", "3"),
            ("1.0-beta-2", 0, "1.0-beta", "2"),
            ("2:1:2-3-4", 2, "1:2-3", "4"),
            ("1.2.3-0ubuntu1.1", 0, "1.2.3", "0ubuntu1.1"),
            ("18446744073709551615:1", u64::MAX, "1", ""),
            ("007:1", 7, "1", ""),
            ("~rc1", 0, "~rc1", ""),
            ("git20240101-1", 0, "git20240101", "1"),
        ];
        for &(input, epoch, upstream, revision) in cases {
            let version = v(input);
            assert_eq!(version.epoch(), epoch, "{input} epoch");
            assert_eq!(version.upstream(), upstream, "{input} upstream");
            assert_eq!(version.revision(), revision, "{input} revision");
            assert_eq!(version.as_str(), input);
            assert_eq!(version.to_string(), input, "Display keeps the original");
        }
    }

    #[test]
    fn display_keeps_original_text_of_equal_versions() {
        let (a, b) = (v("1.0"), v("0:1.00"));
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "1.0");
        assert_eq!(b.to_string(), "0:1.00");
    }

    #[test]
    fn debug_shows_the_text() {
        assert_eq!(format!("{:?}", v("1:2.0-1")), "Version(\"1:2.0-1\")");
    }

    #[test]
    fn from_str_matches_parse() {
        let parsed: Version = "1:2.3-4".parse().unwrap();
        assert_eq!(parsed.as_str(), "1:2.3-4");
        assert_eq!(
            "".parse::<Version>().unwrap_err(),
            Version::parse("").unwrap_err()
        );
    }

    #[test]
    fn parse_errors_have_exact_messages() {
        let cases: &[(&str, &str)] = &[
            (
                "",
                "invalid version \"\": expected a non-empty version string",
            ),
            (
                ":1.0",
                "invalid version \":1.0\": epoch before ':' is empty; expected decimal digits",
            ),
            (
                "1.18.36:5.4",
                "invalid version \"1.18.36:5.4\": epoch \"1.18.36\" is not a number; \
                 expected only decimal digits before the first ':'",
            ),
            (
                "+1:2",
                "invalid version \"+1:2\": epoch \"+1\" is not a number; \
                 expected only decimal digits before the first ':'",
            ),
            (
                "18446744073709551616:1",
                "invalid version \"18446744073709551616:1\": epoch \"18446744073709551616\" \
                 is too large; expected at most 18446744073709551615",
            ),
            (
                "1:",
                "invalid version \"1:\": upstream version is empty; \
                 expected at least one character between the epoch and the revision",
            ),
            (
                "-1",
                "invalid version \"-1\": upstream version is empty; \
                 expected at least one character between the epoch and the revision",
            ),
            (
                "1.0-",
                "invalid version \"1.0-\": revision after the last '-' is empty; \
                 expected at least one character after it",
            ),
            (
                "1.0_1",
                "invalid version \"1.0_1\": character '_' at byte 3 is not allowed in the \
                 upstream version; expected ASCII letters, digits or one of . + ~ - :",
            ),
            (
                " 1.0",
                "invalid version \" 1.0\": character ' ' at byte 0 is not allowed in the \
                 upstream version; expected ASCII letters, digits or one of . + ~ - :",
            ),
            (
                "1:2.0-1:3",
                "invalid version \"1:2.0-1:3\": character ':' at byte 7 is not allowed in the \
                 revision; expected ASCII letters, digits or one of . + ~",
            ),
            (
                "1.0-1_all",
                "invalid version \"1.0-1_all\": character '_' at byte 5 is not allowed in the \
                 revision; expected ASCII letters, digits or one of . + ~",
            ),
            (
                "1.0é",
                "invalid version \"1.0é\": character 'é' at byte 3 is not allowed in the \
                 upstream version; expected ASCII letters, digits or one of . + ~ - :",
            ),
        ];
        for &(input, message) in cases {
            let err = Version::parse(input).expect_err(input);
            assert_eq!(err.to_string(), message, "{input:?}");
        }
    }

    #[test]
    fn parse_error_variants_carry_input() {
        assert_eq!(
            Version::parse("a:1").unwrap_err(),
            VersionError::NonNumericEpoch {
                input: "a:1".into(),
                epoch: "a".into()
            }
        );
        assert!(matches!(
            Version::parse("1.0\n").unwrap_err(),
            VersionError::InvalidChar {
                ch: '\n',
                pos: 3,
                part: "upstream version",
                ..
            }
        ));
    }

    #[test]
    fn sorting_is_a_total_order() {
        let expected = [
            "~~",
            "~~a",
            "~",
            "0.9",
            "1.0~~",
            "1.0~alpha",
            "1.0~rc1",
            "1.0~rc2",
            "1.0",
            "1.0-0ubuntu1",
            "1.0-1~bpo1",
            "1.0-1",
            "1.0-1ubuntu1",
            "1.0-1+b1",
            "1.0-1.1",
            "1.0-2",
            "1.0-10",
            "1.0a",
            "1.0+dfsg-1",
            "1.0.1",
            "1.9",
            "1.10",
            "2.30-0ubuntu1",
            "2.30-0ubuntu1.1",
            "2.30-1",
            "13ubuntu10",
            "13ubuntu10.5",
            "a",
            "b",
            "1:0.1",
            "1:1.18.36",
            "1:1.18.37",
            "2:0",
        ];
        let mut shuffled: Vec<Version> = expected.iter().map(|s| v(s)).collect();
        // Deterministic shuffle: reverse, then interleave halves.
        shuffled.reverse();
        let (left, right) = shuffled.split_at(shuffled.len() / 2);
        let mut mixed: Vec<Version> = right
            .iter()
            .zip(left.iter())
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        if right.len() > left.len() {
            mixed.push(right[right.len() - 1].clone());
        }
        assert_eq!(mixed.len(), expected.len());
        mixed.sort();
        let got: Vec<&str> = mixed.iter().map(Version::as_str).collect();
        assert_eq!(got, expected);

        // Every pair is strictly ordered by position (the list has no ties),
        // and every triple is transitive.
        for (i, a) in mixed.iter().enumerate() {
            for (j, b) in mixed.iter().enumerate() {
                assert_eq!(a.cmp(b), i.cmp(&j), "{a} vs {b}");
                assert_eq!(a.cmp(b), b.cmp(a).reverse(), "antisymmetry {a} {b}");
                for c in &mixed {
                    if a <= b && b <= c {
                        assert!(a <= c, "transitivity {a} <= {b} <= {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn equal_versions_hash_equally() {
        let groups: &[&[&str]] = &[
            &["1.0", "1.00", "0:1.0", "00:1.000", "1.0-0", "1.0-000"],
            &["1.2.3-1", "1.2.3-01", "0:1.2.3-001"],
            &["a", "a0", "a00-0"],
            &["1.001", "1.1", "1.0000000000000000000000000000000001"],
            &["0a", "00a", "000a-0"],
        ];
        for group in groups {
            let first = v(group[0]);
            for other in group.iter().map(|s| v(s)) {
                assert_eq!(first, other, "{first} == {other}");
                assert_eq!(hash_of(&first), hash_of(&other), "{first} / {other}");
            }
        }
        let set: std::collections::HashSet<Version> = ["1.0", "1.00", "1.0-1", "1.0-01", "1:1.0"]
            .iter()
            .map(|s| v(s))
            .collect();
        assert_eq!(set.len(), 3);
        // Sanity check that unequal versions usually hash differently.
        assert_ne!(hash_of(&v("0a")), hash_of(&v("a")));
        assert_ne!(hash_of(&v("1.0-1")), hash_of(&v("1.0-1.0-1")));
    }
}
