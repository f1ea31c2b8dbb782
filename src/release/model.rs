//! The release as kerf understands it once loaded and validated: plain data, no I/O.
//!
//! Everything here is already checked (names, paths, options, essentials, conflicts), so later
//! stages can trust it without re-validating.

use std::collections::BTreeMap;
use std::fmt;

/// The `format` field of `chisel.yaml`. The versions differ in how essentials are spelled and in
/// which archive fields are allowed; slice contents parse the same in all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    V1,
    V2,
    V3,
}

impl Format {
    pub(crate) fn parse(text: &str) -> Option<Format> {
        match text {
            "v1" => Some(Format::V1),
            "v2" => Some(Format::V2),
            "v3" => Some(Format::V3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::V1 => "v1",
            Format::V2 => "v2",
            Format::V3 => "v3",
        }
    }
}

/// A Debian architecture name, limited to the seven that Ubuntu publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    Amd64,
    Arm64,
    Armhf,
    I386,
    Ppc64el,
    Riscv64,
    S390x,
}

impl Arch {
    pub const ALL: [Arch; 7] = [
        Arch::Amd64,
        Arch::Arm64,
        Arch::Armhf,
        Arch::I386,
        Arch::Ppc64el,
        Arch::Riscv64,
        Arch::S390x,
    ];

    pub fn parse(text: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|arch| arch.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Armhf => "armhf",
            Arch::I386 => "i386",
            Arch::Ppc64el => "ppc64el",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
        }
    }

    /// The architecture kerf itself was built for, which is the default target, as in chisel.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::Amd64),
            "aarch64" => Some(Arch::Arm64),
            "arm" => Some(Arch::Armhf),
            "x86" => Some(Arch::I386),
            "powerpc64" if cfg!(target_endian = "little") => Some(Arch::Ppc64el),
            "riscv64" => Some(Arch::Riscv64),
            "s390x" => Some(Arch::S390x),
            _ => None,
        }
    }

    /// The GNU multiarch triplet, used for the default library directories of this arch.
    pub fn triplet(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-linux-gnu",
            Arch::Arm64 => "aarch64-linux-gnu",
            Arch::Armhf => "arm-linux-gnueabihf",
            Arch::I386 => "i386-linux-gnu",
            Arch::Ppc64el => "powerpc64le-linux-gnu",
            Arch::Riscv64 => "riscv64-linux-gnu",
            Arch::S390x => "s390x-linux-gnu",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of architectures an entry is limited to; empty means "every architecture".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchSet(pub Vec<Arch>);

impl ArchSet {
    pub fn allows(&self, arch: Arch) -> bool {
        self.0.is_empty() || self.0.contains(&arch)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A calendar date (UTC midnight), as used by the `maintenance` block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD` strictly: four-digit year, two-digit month and day, a real day.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = &text[range];
            if part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let year = digits(0..4)?;
        let month = u8::try_from(digits(5..7)?).ok()?;
        let day = u8::try_from(digits(8..10)?).ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Days since 1970-01-01, so dates compare with the wall clock without a date crate.
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days-from-civil algorithm.
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The maintenance phases of a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintenance {
    pub standard: Date,
    pub expanded: Option<Date>,
    pub legacy: Option<Date>,
    pub end_of_life: Date,
}

impl Maintenance {
    /// Before the standard support date the release is still in development ("unstable").
    pub fn is_unstable(&self, today: i64) -> bool {
        today < self.standard.days_since_epoch()
    }

    /// Whether an archive of this flavour still gets updates on `today` (days since 1970): the
    /// public archive until `expanded` (else end of life), ESM archives until `legacy` (else end
    /// of life), FIPS archives until end of life.
    pub fn is_maintained(&self, pro: Pro, today: i64) -> bool {
        let until = match pro {
            Pro::None => self.expanded.unwrap_or(self.end_of_life),
            Pro::EsmApps | Pro::EsmInfra => self.legacy.unwrap_or(self.end_of_life),
            Pro::Fips | Pro::FipsUpdates => self.end_of_life,
        };
        today < until.days_since_epoch()
    }
}

/// Today, in days since 1970-01-01 (UTC), for the maintenance checks.
pub fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs() / 86_400).unwrap_or(i64::MAX)
        })
}

/// The Ubuntu Pro flavour of an archive; `None` is the public archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pro {
    None,
    Fips,
    FipsUpdates,
    EsmApps,
    EsmInfra,
}

impl Pro {
    pub(crate) fn parse(text: &str) -> Option<Pro> {
        match text {
            "" => Some(Pro::None),
            "fips" => Some(Pro::Fips),
            "fips-updates" => Some(Pro::FipsUpdates),
            "esm-apps" => Some(Pro::EsmApps),
            "esm-infra" => Some(Pro::EsmInfra),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Pro::None => "",
            Pro::Fips => "fips",
            Pro::FipsUpdates => "fips-updates",
            Pro::EsmApps => "esm-apps",
            Pro::EsmInfra => "esm-infra",
        }
    }
}

/// One apt archive of the release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archive {
    pub name: String,
    /// Kept as the literal YAML text, so `24.10` stays `24.10`.
    pub version: String,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub public_keys: Vec<String>,
    /// Higher wins; negative means "only when a package pins this archive".
    pub priority: i32,
    pub pro: Pro,
    /// kerf extension: the archive's base URL, for any apt archive or mirror.
    pub url: Option<String>,
}

/// An ASCII-armoured OpenPGP public key as declared in `chisel.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyDef {
    pub name: String,
    pub id: String,
    pub armor: String,
}

/// A reference to one slice, written `pkg_slice`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SliceKey {
    pub package: String,
    pub slice: String,
}

impl SliceKey {
    pub fn new(package: impl Into<String>, slice: impl Into<String>) -> SliceKey {
        SliceKey {
            package: package.into(),
            slice: slice.into(),
        }
    }

    /// Parses `pkg_slice` with chisel's naming rules; `None` when it is not a valid reference.
    pub fn parse(text: &str) -> Option<SliceKey> {
        let (package, slice) = text.split_once('_')?;
        (valid_package_name(package) && valid_slice_name(slice))
            .then(|| SliceKey::new(package, slice))
    }
}

impl fmt::Display for SliceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.package, self.slice)
    }
}

/// `[a-z0-9](-?[.a-z0-9+])+`: at least two characters, no leading or double dash, no trailing dash.
pub fn valid_package_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) || rest.is_empty() {
        return false;
    }
    let mut previous_dash = false;
    for &byte in rest {
        match byte {
            b'-' if previous_dash => return false,
            b'-' => previous_dash = true,
            b'.' | b'+' | b'a'..=b'z' | b'0'..=b'9' => previous_dash = false,
            _ => return false,
        }
    }
    !previous_dash
}

/// `[a-z](-?[a-z0-9]){2,}`: starts with a letter, three or more non-dash characters, single
/// inner dashes only.
pub fn valid_slice_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    if !first.is_ascii_lowercase() {
        return false;
    }
    let mut previous_dash = false;
    let mut groups = 0;
    for &byte in rest {
        match byte {
            b'-' if previous_dash => return false,
            b'-' => previous_dash = true,
            b'a'..=b'z' | b'0'..=b'9' => {
                previous_dash = false;
                groups += 1;
            }
            _ => return false,
        }
    }
    !previous_dash && groups >= 2
}

/// What an essential reference carries: the arches it applies to (empty: all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EssentialInfo {
    pub arch: ArchSet,
}

/// What a content path is, exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// Extract a file, directory or symlink from the package (the source may differ).
    Copy,
    /// Extract every entry of the package that matches the glob.
    Glob,
    /// Create a directory.
    Make,
    /// Create a regular file with the given content.
    Text,
    /// Create a symlink with the given target.
    Symlink,
    /// Generate kerf's own data, e.g. the manifest, under this `/**` path.
    Generate,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Copy => "copy",
            PathKind::Glob => "glob",
            PathKind::Make => "make",
            PathKind::Text => "text",
            PathKind::Symlink => "symlink",
            PathKind::Generate => "generate",
        }
    }
}

/// The `until` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Until {
    #[default]
    None,
    Mutate,
}

/// The `generate` option. Unknown values load (chisel accepts them) but fail when selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Generate {
    Manifest,
    Unknown(String),
}

impl Generate {
    pub fn as_str(&self) -> &str {
        match self {
            Generate::Manifest => "manifest",
            Generate::Unknown(value) => value,
        }
    }
}

/// One entry of a slice's `contents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathInfo {
    pub kind: PathKind,
    /// The copy source, text content or symlink target; empty for the other kinds.
    pub info: String,
    /// The declared mode, if any (`0` is "not given", as in chisel).
    pub mode: u32,
    pub mutable: bool,
    pub until: Until,
    pub arch: ArchSet,
    pub generate: Option<Generate>,
    /// The package this path gives way to.
    pub prefer: Option<String>,
}

impl PathInfo {
    /// Whether two entries for the same path say the same thing, for the conflict check: what is
    /// compared is kind, info, mode, mutability and generate; `until` and `arch` are not.
    pub fn same_content(&self, other: &PathInfo) -> bool {
        self.kind == other.kind
            && self.info == other.info
            && self.mode == other.mode
            && self.mutable == other.mutable
            && self.generate == other.generate
    }
}

/// One slice of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    pub package: String,
    pub name: String,
    pub hint: String,
    /// Package-level essentials are already merged in (except a slice naming itself).
    pub essential: BTreeMap<SliceKey, EssentialInfo>,
    pub contents: BTreeMap<String, PathInfo>,
    pub mutate: String,
    /// 1-based line of the slice's name in its file, for messages.
    pub line: u32,
}

impl Slice {
    pub fn key(&self) -> SliceKey {
        SliceKey::new(&self.package, &self.name)
    }
}

/// One slice definition file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// The definition file relative to the release directory, e.g. `slices/openssl.yaml`.
    pub path: String,
    /// The archive this package is pinned to, if any.
    pub archive: Option<String>,
    pub slices: BTreeMap<String, Slice>,
}

/// A whole release: chisel.yaml and every slice definition file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub format: Format,
    pub maintenance: Maintenance,
    pub archives: BTreeMap<String, Archive>,
    pub public_keys: BTreeMap<String, PublicKeyDef>,
    pub packages: BTreeMap<String, Package>,
    /// Things the user should hear about that are not errors, e.g. an archive ignored for an
    /// unknown `pro` value.
    pub notices: Vec<String>,
}

impl Release {
    pub fn slice(&self, key: &SliceKey) -> Option<&Slice> {
        self.packages.get(&key.package)?.slices.get(&key.slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_chisel_rules() {
        for good in ["g++", "a.", "1234", "libsasl2-2", "jq", "ca-certificates"] {
            assert!(valid_package_name(good), "{good}");
        }
        for bad in ["", "a", "-ab", "a--b", "ab-", "Foo", "a_b", "a b"] {
            assert!(!valid_package_name(bad), "{bad}");
        }
    }

    #[test]
    fn slice_names_follow_chisel_rules() {
        for good in ["bins", "abc", "a-bc", "data-with-certs", "a1b"] {
            assert!(valid_slice_name(good), "{good}");
        }
        for bad in ["", "cc", "a-b", "abc-", "1ab", "a--bc", "Abc", "ab_c"] {
            assert!(!valid_slice_name(bad), "{bad}");
        }
    }

    #[test]
    fn slice_references_parse() {
        for good in [
            "foo_bar",
            "g++_bins",
            "a._bar",
            "1234_bar",
            "foo-pkg_dashed-slice-name",
        ] {
            assert!(SliceKey::parse(good).is_some(), "{good}");
        }
        for bad in [
            "foo_ba",
            "f_bar",
            "1234_789",
            "foo_bar_baz",
            "Foo_bar",
            "a_bcd",
            "foobar",
        ] {
            assert!(SliceKey::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(SliceKey::parse("g++_bins").unwrap().to_string(), "g++_bins");
    }

    #[test]
    fn dates_parse_strictly_and_count_days() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(Date::parse("2024-04-25").unwrap().days_since_epoch(), 19838);
        assert_eq!(Date::parse("2000-03-01").unwrap().days_since_epoch(), 11017);
        for bad in [
            "2024-4-25",
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "24-04-25x",
            "2024/04/25",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        assert!(Date::parse("2024-02-29").is_some());
    }

    #[test]
    fn maintenance_phases() {
        let date = |text| Date::parse(text).unwrap().days_since_epoch();
        let maintenance = Maintenance {
            standard: Date::parse("2024-04-25").unwrap(),
            expanded: Date::parse("2029-05-31"),
            legacy: Date::parse("2034-04-25"),
            end_of_life: Date::parse("2036-04-29").unwrap(),
        };
        assert!(maintenance.is_unstable(date("2024-04-24")));
        assert!(!maintenance.is_unstable(date("2024-04-25")));
        assert!(maintenance.is_maintained(Pro::None, date("2029-05-30")));
        assert!(!maintenance.is_maintained(Pro::None, date("2029-05-31")));
        assert!(maintenance.is_maintained(Pro::EsmApps, date("2034-04-24")));
        assert!(!maintenance.is_maintained(Pro::EsmInfra, date("2034-04-25")));
        assert!(maintenance.is_maintained(Pro::Fips, date("2036-04-28")));
        assert!(!maintenance.is_maintained(Pro::Fips, date("2036-04-29")));
        let short = Maintenance {
            expanded: None,
            legacy: None,
            ..maintenance
        };
        assert!(short.is_maintained(Pro::None, date("2036-04-28")));
        assert!(short.is_maintained(Pro::EsmApps, date("2036-04-28")));
    }

    #[test]
    fn arch_names_round_trip() {
        for arch in Arch::ALL {
            assert_eq!(Arch::parse(arch.as_str()), Some(arch));
        }
        assert_eq!(Arch::parse("aarch64"), None);
    }
}
