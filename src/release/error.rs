//! Why a release was refused: each error names the file (and line, where known) and the facts.

use std::fmt;

/// Where in the release an error was found.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Relative to the release directory: `chisel.yaml` or `slices/<name>.yaml`.
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    pub(crate) fn file(file: &str) -> Location {
        Location {
            file: file.to_owned(),
            line: None,
            column: None,
        }
    }

    pub(crate) fn at(file: &str, line: impl TryInto<u32>, column: impl TryInto<u32>) -> Location {
        let known = |value: Option<u32>| value.filter(|&value| value > 0);
        Location {
            file: file.to_owned(),
            line: known(line.try_into().ok()),
            column: known(column.try_into().ok()),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// One problem in a release, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReleaseError {
    pub location: Option<Location>,
    pub kind: ErrorKind,
}

impl ReleaseError {
    pub(crate) fn new(location: Location, kind: ErrorKind) -> ReleaseError {
        ReleaseError {
            location: Some(location),
            kind,
        }
    }

    pub(crate) fn global(kind: ErrorKind) -> ReleaseError {
        ReleaseError {
            location: None,
            kind,
        }
    }
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ReleaseError {}

/// Every problem found in a release, sorted by file and line so the report is stable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseErrors {
    /// What was being read, e.g. the release directory, for the summary line.
    pub origin: String,
    pub errors: Vec<ReleaseError>,
}

impl fmt::Display for ReleaseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [only] => write!(f, "invalid release {}: {only}", self.origin),
            errors => {
                write!(
                    f,
                    "invalid release {}: {} problems",
                    self.origin,
                    errors.len()
                )?;
                for error in errors {
                    write!(f, "\n  {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReleaseErrors {}

/// The facts of each kind of problem. The wording keeps chisel's fixed words, so that users and
/// scripts that know chisel's messages recognise them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub enum ErrorKind {
    // Reading files.
    #[error("cannot read {what}: {reason}")]
    Read { what: String, reason: String },
    #[error("cannot parse release definition: {0}")]
    ChiselYamlSyntax(String),
    #[error("cannot parse package \"{package}\" slice definitions: {reason}")]
    SliceYamlSyntax { package: String, reason: String },

    // chisel.yaml.
    #[error("unknown format \"{0}\" (expected v1, v2 or v3)")]
    UnknownFormat(String),
    #[error("no archives defined")]
    NoArchives,
    #[error("archive \"{0}\" defined twice")]
    ArchiveDefinedTwice(String),
    #[error("v2-archives is obsolete since format v2")]
    V2ArchivesObsolete,
    #[error("archive \"{0}\" has 'default' field which is obsolete since format v2")]
    DefaultObsolete(String),
    #[error("archive \"{archive}\" missing {field} field")]
    ArchiveMissingField {
        archive: String,
        field: &'static str,
    },
    #[error("archive \"{archive}\" refers to undefined public key \"{key}\"")]
    UndefinedPublicKey { archive: String, key: String },
    #[error("archive \"{archive}\" has invalid priority value of {priority} (expected a non-zero integer from -1000 to 1000)")]
    InvalidPriority { archive: String, priority: i64 },
    #[error("archives \"{first}\" and \"{second}\" have the same priority value of {priority}")]
    SamePriority {
        first: String,
        second: String,
        priority: i32,
    },
    #[error("archive \"{0}\" is missing the priority setting")]
    MissingPriority(String),
    #[error("more than one default archive: {0}, {1}")]
    TwoDefaults(String, String),
    #[error("archive \"{archive}\" has invalid url \"{url}\" (expected http:// or https://)")]
    InvalidArchiveUrl { archive: String, url: String },
    #[error("cannot parse maintenance: \"{0}\" is unset")]
    MaintenanceUnset(&'static str),
    #[error(
        "cannot parse maintenance: expected format for \"{key}\" is YYYY-MM-DD, got \"{value}\""
    )]
    MaintenanceDate { key: &'static str, value: String },
    #[error("cannot decode public key \"{name}\": {reason}")]
    PublicKeyDecode { name: String, reason: String },
    #[error(
        "public key \"{name}\" armor has incorrect ID: expected \"{expected}\", got \"{actual}\""
    )]
    PublicKeyId {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("public key \"{0}\" missing {1} field")]
    PublicKeyMissingField(String, &'static str),

    // Slice definition files.
    #[error("invalid slice definition filename: \"{0}\" (expected a package name and .yaml)")]
    InvalidFilename(String),
    #[error("filename and 'package' field (\"{0}\") disagree")]
    PackageFieldMismatch(String),
    #[error("package \"{package}\" slices defined more than once: {first} and {second}")]
    PackageDefinedTwice {
        package: String,
        first: String,
        second: String,
    },
    #[error("invalid slice name \"{0}\" (must start with a-z, len >= 3, only a-z / 0-9 / -)")]
    InvalidSliceName(String),
    #[error("package refers to undefined archive \"{0}\"")]
    UndefinedArchive(String),
    #[error("slice {slice} has invalid hint \"{hint}\" (must be len <= 40, printable, with no other whitespace than spaces)")]
    InvalidHint { slice: String, hint: String },
    #[error("{owner} essential expects a {expected}")]
    EssentialShape {
        owner: String,
        expected: &'static str,
    },
    #[error("{owner} has v3-essential, which is obsolete since format v3")]
    V3EssentialObsolete { owner: String },
    #[error("package \"{package}\" has invalid essential slice reference: \"{reference}\"")]
    InvalidEssential { package: String, reference: String },
    #[error("{owner} repeats {reference} in essential fields")]
    RepeatedEssential { owner: String, reference: String },
    #[error("cannot add slice to itself as essential {0}")]
    SelfEssential(String),
    #[error("{owner} has invalid arch \"{arch}\" for essential {reference}")]
    InvalidEssentialArch {
        owner: String,
        reference: String,
        arch: String,
    },
    #[error("slice {slice} has invalid content path: {path}")]
    InvalidPath { slice: String, path: String },
    #[error("conflict in slice {slice} definition for path {path}: {kinds}")]
    KindConflict {
        slice: String,
        path: String,
        kinds: String,
    },
    #[error("slice {slice} path {path} must end in / for 'make' to be valid")]
    MakeWithoutSlash { slice: String, path: String },
    #[error("slice {slice} path {path} has invalid wildcard options (only 'until' and 'arch' apply to globs)")]
    GlobOptions { slice: String, path: String },
    #[error("slice {slice} path {path} has invalid generate options (only 'arch' may go with 'generate')")]
    GenerateOptions { slice: String, path: String },
    #[error("slice {slice} has invalid generate path: {path} does not end with /**")]
    GenerateNoDoubleStar { slice: String, path: String },
    #[error("slice {slice} has invalid generate path: {path} contains wildcard characters in addition to trailing **")]
    GenerateExtraWildcard { slice: String, path: String },
    #[error("slice {slice} mutable is not a regular file: {path}")]
    MutableNotFile { slice: String, path: String },
    #[error("slice {slice} has invalid 'until' for path {path}: \"{value}\" (expected mutate)")]
    InvalidUntil {
        slice: String,
        path: String,
        value: String,
    },
    #[error("slice {slice} has invalid 'arch' for path {path}: \"{value}\"")]
    InvalidArch {
        slice: String,
        path: String,
        value: String,
    },
    #[error("slice {slice} has invalid mode for path {path}: {mode:#o} (expected at most 07777)")]
    InvalidMode {
        slice: String,
        path: String,
        mode: u64,
    },
    #[error("slice {slice} cannot 'prefer' its own package for path {path}")]
    SelfPrefer { slice: String, path: String },

    // Release-wide.
    #[error("slice {slice} 'prefer' refers to undefined package \"{package}\" for path {path}")]
    UndefinedPrefer {
        slice: String,
        path: String,
        package: String,
    },
    #[error(
        "package {package} prefers package \"{preferred}\" which does not contain path {path}"
    )]
    PreferMissingPath {
        package: String,
        preferred: String,
        path: String,
    },
    #[error("package \"{package}\" has conflicting prefers for {path}: {first} != {second}")]
    ConflictingPrefers {
        package: String,
        path: String,
        first: String,
        second: String,
    },
    #[error("packages \"{first}\" and \"{second}\" cannot both prefer \"{preferred}\" for {path}")]
    DoublePreferred {
        first: String,
        second: String,
        preferred: String,
        path: String,
    },
    #[error("package \"{package}\" is part of a prefer loop on {path}")]
    PreferLoop { package: String, path: String },
    #[error("package \"{first}\" and \"{second}\" conflict on {path} without prefer relationship")]
    NoPreferRelationship {
        first: String,
        second: String,
        path: String,
    },
    #[error("slices {first} and {second} conflict on {path}")]
    PathConflict {
        first: String,
        second: String,
        path: String,
    },
    #[error("slices {first} and {second} conflict on {first_path} and {second_path}")]
    GlobConflict {
        first: String,
        second: String,
        first_path: String,
        second_path: String,
    },
    #[error("{slice} requires {essential}, but slice is missing")]
    MissingEssential { slice: String, essential: String },
    #[error("essential loop detected: {0}")]
    EssentialLoop(String),
}
