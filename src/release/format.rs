//! The YAML of `chisel.yaml` and of slice definition files, formats v1 to v3, and its conversion
//! into the model with every per-file rule checked. Release-wide rules live in `validate`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::{ErrorKind, Location, ReleaseError};
use super::model::{
    valid_package_name, valid_slice_name, Arch, ArchSet, Archive, Date, EssentialInfo, Format,
    Generate, Maintenance, Package, PathInfo, PathKind, Pro, PublicKeyDef, Slice, SliceKey, Until,
};
use crate::openpgp::{KeyError, PublicKey};

/// Parser settings shared by every file: chisel's YAML library reads `0755` as octal and refuses
/// duplicate keys; aliases are bounded so a hostile file cannot expand without limit.
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options
}

/// Parses the first YAML document of `text`; chisel ignores any later document, whatever it
/// holds, so later documents are not even deserialized.
fn parse_first_document<T: de::DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_saphyr::from_str_with_options(text, yaml_options()) {
        Err(error @ serde_saphyr::Error::MultipleDocuments { .. }) => {
            let mut reader = text.as_bytes();
            let first = serde_saphyr::read_with_options(&mut reader, yaml_options()).next();
            first.unwrap_or(Err(error))
        }
        result => result,
    }
}

/// The text of a YAML error for users: the library's user-facing wording (its default one
/// gives advice about parser options), without its "at line X, column Y" suffix, since the
/// location already prefixes kerf's message.
fn syntax_message(error: &serde_saphyr::Error) -> String {
    struct NoLocationSuffix;
    impl serde_saphyr::Localizer for NoLocationSuffix {
        fn attach_location<'a>(
            &self,
            base: std::borrow::Cow<'a, str>,
            _location: serde_saphyr::Location,
        ) -> std::borrow::Cow<'a, str> {
            base
        }
    }
    error.render_with_formatter(
        &serde_saphyr::UserMessageFormatter.with_localizer(&NoLocationSuffix),
    )
}

fn syntax_location(file: &str, error: &serde_saphyr::Error) -> Location {
    match error.location() {
        Some(location) => Location::at(file, location.line(), location.column()),
        None => Location::file(file),
    }
}

/// A YAML mapping kept in document order with the position of each key.
struct Entries<V>(Vec<(Spanned<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

/// A file mode: a YAML integer (`0755` and `0o755` octal, `755` decimal), never a string.
#[derive(Clone, Copy)]
struct Mode(u64);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeVisitor;
        impl Visitor<'_> for ModeVisitor {
            type Value = Mode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer file mode such as 0644")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Mode, E> {
                Ok(Mode(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Mode, E> {
                u64::try_from(value)
                    .map(Mode)
                    .map_err(|_| E::custom(format!("negative file mode {value}")))
            }
        }
        deserializer.deserialize_any(ModeVisitor)
    }
}

/// `arch: amd64` or `arch: [amd64, arm64]`.
#[derive(Default)]
struct RawArchList(Vec<String>);

impl<'de> Deserialize<'de> for RawArchList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArchVisitor;
        impl<'de> Visitor<'de> for ArchVisitor {
            type Value = RawArchList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an architecture name or a list of them")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawArchList::default())
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(RawArchList(vec![value.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut arches = Vec::new();
                while let Some(arch) = seq.next_element::<String>()? {
                    arches.push(arch);
                }
                Ok(RawArchList(arches))
            }
        }
        deserializer.deserialize_any(ArchVisitor)
    }
}

#[derive(Deserialize, Default)]
struct RawEssentialInfo {
    arch: Option<RawArchList>,
}

/// `essential` is a list up to v2 and a map from v3 on; which shape is allowed is decided later.
enum RawEssential {
    List(Vec<Spanned<String>>),
    Map(Entries<Option<RawEssentialInfo>>),
}

impl<'de> Deserialize<'de> for RawEssential {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EssentialVisitor;
        impl<'de> Visitor<'de> for EssentialVisitor {
            type Value = RawEssential;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list or map of slice references")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawEssential::List(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut references = Vec::new();
                while let Some(reference) = seq.next_element::<Spanned<String>>()? {
                    references.push(reference);
                }
                Ok(RawEssential::List(references))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(RawEssential::Map(Entries(entries)))
            }
        }
        deserializer.deserialize_any(EssentialVisitor)
    }
}

#[derive(Deserialize, Default)]
struct RawPath {
    make: Option<bool>,
    mode: Option<Mode>,
    copy: Option<String>,
    text: Option<String>,
    symlink: Option<String>,
    mutable: Option<bool>,
    until: Option<String>,
    arch: Option<RawArchList>,
    generate: Option<String>,
    prefer: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawSlice {
    hint: Option<String>,
    essential: Option<RawEssential>,
    #[serde(rename = "v3-essential")]
    v3_essential: Option<RawEssential>,
    contents: Option<Entries<Option<RawPath>>>,
    mutate: Option<String>,
}

#[derive(Deserialize)]
struct RawPackage {
    package: Option<String>,
    archive: Option<String>,
    essential: Option<RawEssential>,
    #[serde(rename = "v3-essential")]
    v3_essential: Option<RawEssential>,
    slices: Option<Entries<Option<RawSlice>>>,
}

#[derive(Deserialize, Default)]
struct RawMaintenance {
    standard: Option<String>,
    expanded: Option<String>,
    legacy: Option<String>,
    #[serde(rename = "end-of-life")]
    end_of_life: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawArchive {
    version: Option<String>,
    suites: Option<Vec<String>>,
    components: Option<Vec<String>>,
    #[serde(rename = "public-keys")]
    public_keys: Option<Vec<String>>,
    priority: Option<i64>,
    pro: Option<String>,
    default: Option<bool>,
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawPublicKey {
    id: Option<String>,
    armor: Option<String>,
}

#[derive(Deserialize)]
struct RawChiselYaml {
    format: Option<String>,
    maintenance: Option<RawMaintenance>,
    archives: Option<Entries<Option<RawArchive>>>,
    #[serde(rename = "v2-archives")]
    v2_archives: Option<Entries<Option<RawArchive>>>,
    #[serde(rename = "public-keys")]
    public_keys: Option<Entries<Option<RawPublicKey>>>,
}

/// Everything `chisel.yaml` defines, checked on its own.
pub(crate) struct ChiselYaml {
    pub(crate) format: Format,
    pub(crate) maintenance: Maintenance,
    pub(crate) archives: BTreeMap<String, Archive>,
    pub(crate) public_keys: BTreeMap<String, PublicKeyDef>,
    /// Things worth telling the user that are not errors, e.g. an archive dropped for its `pro`.
    pub(crate) notices: Vec<String>,
}

const CHISEL_YAML: &str = "chisel.yaml";

/// Published maintenance dates of Ubuntu releases, used when `chisel.yaml` has no `maintenance`
/// block and its archive is named `ubuntu`, as chisel does.
fn default_maintenance(version: &str) -> Option<Maintenance> {
    let date = |text: &str| Date::parse(text);
    let (standard, expanded, legacy, end_of_life) = match version {
        "20.04" => (
            "2020-04-23",
            Some("2025-05-29"),
            Some("2030-04-23"),
            "2032-04-27",
        ),
        "22.04" => (
            "2022-04-21",
            Some("2027-06-01"),
            Some("2032-04-21"),
            "2034-04-25",
        ),
        "22.10" => ("2022-10-20", None, None, "2023-07-20"),
        "23.04" => ("2023-04-20", None, None, "2024-01-25"),
        "23.10" => ("2023-10-12", None, None, "2024-07-11"),
        "24.04" => (
            "2024-04-25",
            Some("2029-05-31"),
            Some("2034-04-25"),
            "2036-04-29",
        ),
        "24.10" => ("2024-10-10", None, None, "2025-07-10"),
        "25.04" => ("2025-04-17", None, None, "2026-01-15"),
        _ => return None,
    };
    Some(Maintenance {
        standard: date(standard)?,
        expanded: expanded.and_then(date),
        legacy: legacy.and_then(date),
        end_of_life: date(end_of_life)?,
    })
}

/// Reads and checks `chisel.yaml`. Every problem found is returned, not just the first.
pub(crate) fn parse_chisel_yaml(text: &str) -> Result<ChiselYaml, Vec<ReleaseError>> {
    let file_error = |kind| ReleaseError::new(Location::file(CHISEL_YAML), kind);
    let raw: RawChiselYaml = parse_first_document(text).map_err(|error| {
        vec![ReleaseError::new(
            syntax_location(CHISEL_YAML, &error),
            ErrorKind::ChiselYamlSyntax(syntax_message(&error)),
        )]
    })?;

    let format_text = raw.format.unwrap_or_default();
    let Some(format) = Format::parse(&format_text) else {
        return Err(vec![file_error(ErrorKind::UnknownFormat(format_text))]);
    };

    let mut errors = Vec::new();
    let mut notices = Vec::new();

    // Archives from both maps; `v2-archives` exists so that v1 releases can carry pro archives.
    let mut raw_archives: Vec<(Spanned<String>, RawArchive)> = Vec::new();
    for (name, archive) in raw.archives.unwrap_or_default().0 {
        raw_archives.push((name, archive.unwrap_or_default()));
    }
    if let Some(v2) = raw.v2_archives {
        if format > Format::V1 {
            errors.push(file_error(ErrorKind::V2ArchivesObsolete));
        }
        for (name, archive) in v2.0 {
            if raw_archives
                .iter()
                .any(|(other, _)| other.value == name.value)
            {
                errors.push(at_key(
                    CHISEL_YAML,
                    &name,
                    ErrorKind::ArchiveDefinedTwice(name.value.clone()),
                ));
                continue;
            }
            raw_archives.push((name, archive.unwrap_or_default()));
        }
    }
    raw_archives.sort_by(|a, b| a.0.value.cmp(&b.0.value));
    if raw_archives.is_empty() {
        errors.push(file_error(ErrorKind::NoArchives));
    }

    let mut public_keys = BTreeMap::new();
    for (name, key) in raw.public_keys.unwrap_or_default().0 {
        let key = key.unwrap_or_default();
        let (Some(id), Some(armor)) = (key.id, key.armor) else {
            errors.push(at_key(
                CHISEL_YAML,
                &name,
                ErrorKind::PublicKeyMissingField(name.value.clone(), "id or armor"),
            ));
            continue;
        };
        // A bad key is still a defined one: archives naming it get no second error.
        if let Err(kind) = check_public_key(&name.value, &id, &armor) {
            errors.push(at_key(CHISEL_YAML, &name, kind));
        }
        public_keys.insert(
            name.value.clone(),
            PublicKeyDef {
                name: name.value,
                id,
                armor,
            },
        );
    }

    let mut archives = BTreeMap::new();
    let mut defaults = Vec::new();
    let mut any_priority = false;
    for (name, raw_archive) in &raw_archives {
        let archive_name = &name.value;
        let error_here = |kind| at_key(CHISEL_YAML, name, kind);
        let missing = |field| {
            error_here(ErrorKind::ArchiveMissingField {
                archive: archive_name.clone(),
                field,
            })
        };
        let pro_text = raw_archive.pro.clone().unwrap_or_default();
        let Some(pro) = Pro::parse(&pro_text) else {
            notices.push(format!(
                "Archive \"{archive_name}\" ignored: invalid pro value: \"{pro_text}\""
            ));
            continue;
        };
        if raw_archive.default.is_some() && format > Format::V1 {
            errors.push(error_here(ErrorKind::DefaultObsolete(archive_name.clone())));
        }
        if raw_archive.default == Some(true) {
            defaults.push(archive_name.clone());
        }
        let non_empty = |list: &Option<Vec<String>>| list.clone().filter(|list| !list.is_empty());
        let Some(version) = raw_archive.version.clone().filter(|v| !v.is_empty()) else {
            errors.push(missing("version"));
            continue;
        };
        let Some(suites) = non_empty(&raw_archive.suites) else {
            errors.push(missing("suites"));
            continue;
        };
        let Some(components) = non_empty(&raw_archive.components) else {
            errors.push(missing("components"));
            continue;
        };
        let Some(keys) = non_empty(&raw_archive.public_keys) else {
            errors.push(missing("public-keys"));
            continue;
        };
        for key in &keys {
            if !public_keys.contains_key(key) {
                errors.push(error_here(ErrorKind::UndefinedPublicKey {
                    archive: archive_name.clone(),
                    key: key.clone(),
                }));
            }
        }
        let priority = match raw_archive.priority {
            Some(priority) => {
                any_priority = true;
                match i32::try_from(priority) {
                    Ok(value) if value != 0 && (-1000..=1000).contains(&value) => value,
                    _ => {
                        errors.push(error_here(ErrorKind::InvalidPriority {
                            archive: archive_name.clone(),
                            priority,
                        }));
                        continue;
                    }
                }
            }
            None => 0,
        };
        if let Some(url) = &raw_archive.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                errors.push(error_here(ErrorKind::InvalidArchiveUrl {
                    archive: archive_name.clone(),
                    url: url.clone(),
                }));
            }
        }
        archives.insert(
            archive_name.clone(),
            Archive {
                name: archive_name.clone(),
                version,
                suites,
                components,
                public_keys: keys,
                priority,
                pro,
                url: raw_archive.url.clone(),
            },
        );
    }

    if defaults.len() > 1 {
        errors.push(file_error(ErrorKind::TwoDefaults(
            defaults[0].clone(),
            defaults[1].clone(),
        )));
    }
    assign_priorities(
        &mut archives,
        &raw_archives,
        any_priority,
        defaults.first(),
        &mut errors,
    );

    let maintenance = match raw.maintenance {
        Some(raw) => parse_maintenance(&raw)
            .map_err(|kind| errors.push(file_error(kind)))
            .ok(),
        None => {
            let ubuntu = archives
                .get("ubuntu")
                .map(|archive| archive.version.as_str());
            let found = ubuntu.and_then(default_maintenance);
            if found.is_none() {
                errors.push(file_error(ErrorKind::MaintenanceUnset("standard")));
            }
            found
        }
    };

    match maintenance {
        Some(maintenance) if errors.is_empty() => Ok(ChiselYaml {
            format,
            maintenance,
            archives,
            public_keys,
            notices,
        }),
        _ => Err(errors),
    }
}

/// The armour must hold exactly one public key, whose long ID is the declared `id`.
fn check_public_key(name: &str, id: &str, armor: &str) -> Result<(), ErrorKind> {
    let key = PublicKey::from_armor(name, armor).map_err(key_error)?;
    key.check_id(id).map_err(key_error)
}

fn key_error(error: KeyError) -> ErrorKind {
    match error {
        KeyError::Decode { name, reason } => ErrorKind::PublicKeyDecode {
            name,
            reason: reason.to_string(),
        },
        KeyError::IncorrectId {
            name,
            expected,
            actual,
        } => ErrorKind::PublicKeyId {
            name,
            expected,
            actual,
        },
    }
}

fn assign_priorities(
    archives: &mut BTreeMap<String, Archive>,
    raw_archives: &[(Spanned<String>, RawArchive)],
    any_priority: bool,
    default: Option<&String>,
    errors: &mut Vec<ReleaseError>,
) {
    if any_priority {
        // Every archive must then set one; the first unset one by name is reported.
        if let Some((name, _)) = raw_archives
            .iter()
            .find(|(name, raw)| raw.priority.is_none() && archives.contains_key(&name.value))
        {
            errors.push(at_key(
                CHISEL_YAML,
                name,
                ErrorKind::MissingPriority(name.value.clone()),
            ));
        }
        let mut seen: BTreeMap<i32, &str> = BTreeMap::new();
        // An archive without a priority (0) is reported above, not as a duplicate of another.
        for archive in archives.values().filter(|archive| archive.priority != 0) {
            if let Some(first) = seen.insert(archive.priority, &archive.name) {
                errors.push(ReleaseError::new(
                    Location::file(CHISEL_YAML),
                    ErrorKind::SamePriority {
                        first: first.to_owned(),
                        second: archive.name.clone(),
                        priority: archive.priority,
                    },
                ));
            }
        }
        return;
    }
    if archives.len() <= 1 {
        return;
    }
    let Some(default) = default else {
        if let Some(first) = archives.keys().next() {
            errors.push(ReleaseError::new(
                Location::file(CHISEL_YAML),
                ErrorKind::MissingPriority(first.clone()),
            ));
        }
        return;
    };
    // chisel's compatibility rule: the default archive wins, the others are only used when a
    // package pins them, in name order.
    for (index, archive) in archives.values_mut().enumerate() {
        archive.priority = if &archive.name == default {
            1
        } else {
            -i32::try_from(index + 1).unwrap_or(i32::MAX)
        };
    }
}

fn parse_maintenance(raw: &RawMaintenance) -> Result<Maintenance, ErrorKind> {
    let date = |key: &'static str, value: &Option<String>| -> Result<Option<Date>, ErrorKind> {
        match value {
            None => Ok(None),
            Some(text) => Date::parse(text)
                .map(Some)
                .ok_or_else(|| ErrorKind::MaintenanceDate {
                    key,
                    value: text.clone(),
                }),
        }
    };
    let standard =
        date("standard", &raw.standard)?.ok_or(ErrorKind::MaintenanceUnset("standard"))?;
    let end_of_life =
        date("end-of-life", &raw.end_of_life)?.ok_or(ErrorKind::MaintenanceUnset("end-of-life"))?;
    Ok(Maintenance {
        standard,
        expanded: date("expanded", &raw.expanded)?,
        legacy: date("legacy", &raw.legacy)?,
        end_of_life,
    })
}

fn at_key<T>(file: &str, key: &Spanned<T>, kind: ErrorKind) -> ReleaseError {
    ReleaseError::new(
        Location::at(file, key.referenced.line(), key.referenced.column()),
        kind,
    )
}

/// The package name a slice definition file stands for, if its name is valid.
pub(crate) fn package_name_from_file(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".yaml")?;
    valid_package_name(stem).then_some(stem)
}

/// Reads one slice definition file. `path` is relative to the release, `package` comes from the
/// file name. Every problem found in the file is returned.
pub(crate) fn parse_package(
    path: &str,
    package: &str,
    text: &str,
    format: Format,
) -> Result<Package, Vec<ReleaseError>> {
    let raw: RawPackage = parse_first_document(text).map_err(|error| {
        vec![ReleaseError::new(
            syntax_location(path, &error),
            ErrorKind::SliceYamlSyntax {
                package: package.to_owned(),
                reason: syntax_message(&error),
            },
        )]
    })?;
    let mut parser = PackageParser {
        path,
        package,
        format,
        errors: Vec::new(),
    };
    let declared = raw.package.unwrap_or_default();
    if declared != package {
        parser.error(
            Location::file(path),
            ErrorKind::PackageFieldMismatch(declared),
        );
        return Err(parser.errors);
    }

    let owner = format!("package \"{package}\"");
    let mut package_essential = BTreeMap::new();
    parser.essentials(
        &owner,
        raw.essential,
        raw.v3_essential,
        &mut package_essential,
    );

    let mut slices = BTreeMap::new();
    for (name, raw_slice) in raw.slices.unwrap_or_default().0 {
        if !valid_slice_name(&name.value) {
            parser.error_at(&name, ErrorKind::InvalidSliceName(name.value.clone()));
            continue;
        }
        let slice = parser.slice(&name, raw_slice.unwrap_or_default(), &package_essential);
        slices.insert(name.value, slice);
    }

    if parser.errors.is_empty() {
        Ok(Package {
            name: package.to_owned(),
            path: path.to_owned(),
            archive: raw.archive.filter(|archive| !archive.is_empty()),
            slices,
        })
    } else {
        Err(parser.errors)
    }
}

struct PackageParser<'a> {
    path: &'a str,
    package: &'a str,
    format: Format,
    errors: Vec<ReleaseError>,
}

impl PackageParser<'_> {
    fn error(&mut self, location: Location, kind: ErrorKind) {
        self.errors.push(ReleaseError::new(location, kind));
    }

    fn error_at<T>(&mut self, key: &Spanned<T>, kind: ErrorKind) {
        self.errors.push(at_key(self.path, key, kind));
    }

    /// Collects `essential` and `v3-essential` of one owner (the package or a slice) into `into`,
    /// checking the shape the format expects, the references and repeats.
    fn essentials(
        &mut self,
        owner: &str,
        essential: Option<RawEssential>,
        v3_essential: Option<RawEssential>,
        into: &mut BTreeMap<SliceKey, (EssentialInfo, Location)>,
    ) {
        let file_location = Location::file(self.path);
        if let Some(essential) = essential {
            match (self.format, essential) {
                (Format::V3, RawEssential::List(list)) if !list.is_empty() => {
                    self.error(
                        file_location.clone(),
                        ErrorKind::EssentialShape {
                            owner: owner.to_owned(),
                            expected: "map",
                        },
                    );
                }
                (Format::V1 | Format::V2, RawEssential::Map(entries)) if !entries.0.is_empty() => {
                    self.error(
                        file_location.clone(),
                        ErrorKind::EssentialShape {
                            owner: owner.to_owned(),
                            expected: "list",
                        },
                    );
                }
                (_, RawEssential::List(list)) => {
                    for reference in list {
                        self.add_essential(owner, reference, EssentialInfo::default(), into);
                    }
                }
                (_, RawEssential::Map(entries)) => self.essential_map(owner, entries, into),
            }
        }
        if let Some(v3) = v3_essential {
            if self.format == Format::V3 {
                self.error(
                    file_location,
                    ErrorKind::V3EssentialObsolete {
                        owner: owner.to_owned(),
                    },
                );
                return;
            }
            match v3 {
                RawEssential::Map(entries) => self.essential_map(owner, entries, into),
                RawEssential::List(list) if list.is_empty() => {}
                RawEssential::List(_) => self.error(
                    file_location,
                    ErrorKind::EssentialShape {
                        owner: format!("{owner} v3-essential:"),
                        expected: "map",
                    },
                ),
            }
        }
    }

    fn essential_map(
        &mut self,
        owner: &str,
        entries: Entries<Option<RawEssentialInfo>>,
        into: &mut BTreeMap<SliceKey, (EssentialInfo, Location)>,
    ) {
        for (reference, info) in entries.0 {
            let mut arches = Vec::new();
            for arch in info.unwrap_or_default().arch.unwrap_or_default().0 {
                match Arch::parse(&arch) {
                    Some(arch) => arches.push(arch),
                    None => self.error_at(
                        &reference,
                        ErrorKind::InvalidEssentialArch {
                            owner: owner.to_owned(),
                            reference: reference.value.clone(),
                            arch,
                        },
                    ),
                }
            }
            let info = EssentialInfo {
                arch: ArchSet(arches),
            };
            self.add_essential(owner, reference, info, into);
        }
    }

    fn add_essential(
        &mut self,
        owner: &str,
        reference: Spanned<String>,
        info: EssentialInfo,
        into: &mut BTreeMap<SliceKey, (EssentialInfo, Location)>,
    ) {
        let location = Location::at(
            self.path,
            reference.referenced.line(),
            reference.referenced.column(),
        );
        let Some(key) = SliceKey::parse(&reference.value) else {
            self.error(
                location,
                ErrorKind::InvalidEssential {
                    package: self.package.to_owned(),
                    reference: reference.value,
                },
            );
            return;
        };
        if into.contains_key(&key) {
            self.error(
                location,
                ErrorKind::RepeatedEssential {
                    owner: owner.to_owned(),
                    reference: reference.value,
                },
            );
            return;
        }
        into.insert(key, (info, location));
    }

    fn slice(
        &mut self,
        name: &Spanned<String>,
        raw: RawSlice,
        package_essential: &BTreeMap<SliceKey, (EssentialInfo, Location)>,
    ) -> Slice {
        let key = SliceKey::new(self.package, &name.value);
        let owner = format!("slice {key}");
        if let Some(hint) = &raw.hint {
            if !valid_hint(hint) {
                self.error_at(
                    name,
                    ErrorKind::InvalidHint {
                        slice: key.to_string(),
                        hint: hint.clone(),
                    },
                );
            }
        }

        let mut own = BTreeMap::new();
        self.essentials(&owner, raw.essential, raw.v3_essential, &mut own);
        if let Some((_, location)) = own.get(&key) {
            self.error(location.clone(), ErrorKind::SelfEssential(key.to_string()));
        }
        let mut essential: BTreeMap<SliceKey, EssentialInfo> = own
            .into_iter()
            .filter(|(other, _)| other != &key)
            .map(|(k, (info, _))| (k, info))
            .collect();
        for (reference, (info, location)) in package_essential {
            if reference == &key {
                continue;
            }
            if essential.contains_key(reference) {
                self.error(
                    location.clone(),
                    ErrorKind::RepeatedEssential {
                        owner: owner.clone(),
                        reference: reference.to_string(),
                    },
                );
                continue;
            }
            essential.insert(reference.clone(), info.clone());
        }

        let mut contents = BTreeMap::new();
        for (path, raw_path) in raw.contents.unwrap_or_default().0 {
            if let Some(info) = self.path_info(&key, &path, raw_path.unwrap_or_default()) {
                contents.insert(path.value, info);
            }
        }

        Slice {
            package: self.package.to_owned(),
            name: name.value.clone(),
            hint: raw.hint.unwrap_or_default(),
            essential,
            contents,
            mutate: raw.mutate.unwrap_or_default(),
            line: u32::try_from(name.referenced.line()).unwrap_or(0),
        }
    }

    /// Checks one content entry and says what it is.
    fn path_info(
        &mut self,
        key: &SliceKey,
        path: &Spanned<String>,
        raw: RawPath,
    ) -> Option<PathInfo> {
        let slice = key.to_string();
        let path_text = path.value.as_str();
        let errors_before = self.errors.len();
        let fail = |parser: &mut Self, kind| parser.error_at(path, kind);

        if !is_clean_absolute(path_text) {
            fail(
                self,
                ErrorKind::InvalidPath {
                    slice,
                    path: path_text.to_owned(),
                },
            );
            return None;
        }
        let is_dir = path_text.ends_with('/');
        let glob = path_text.contains(['*', '?']);

        let mut kinds = Vec::new();
        let mut info = String::new();
        if raw.make == Some(true) {
            kinds.push(PathKind::Make);
        }
        if let Some(text) = &raw.text {
            kinds.push(PathKind::Text);
            info.clone_from(text);
        }
        if let Some(target) = raw.symlink.as_ref().filter(|target| !target.is_empty()) {
            kinds.push(PathKind::Symlink);
            info.clone_from(target);
        }
        if let Some(source) = raw.copy.as_ref().filter(|source| !source.is_empty()) {
            kinds.push(PathKind::Copy);
            if source != path_text {
                info.clone_from(source);
            }
        }
        if raw.generate.as_ref().is_some_and(|value| !value.is_empty()) {
            // Only `arch` may go with `generate`: another kind is an option error, as in chisel.
            if !kinds.is_empty() {
                fail(
                    self,
                    ErrorKind::GenerateOptions {
                        slice,
                        path: path_text.to_owned(),
                    },
                );
                return None;
            }
            kinds.push(PathKind::Generate);
        }
        if kinds.len() > 1 {
            let names: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
            fail(
                self,
                ErrorKind::KindConflict {
                    slice,
                    path: path_text.to_owned(),
                    kinds: names.join(", "),
                },
            );
            return None;
        }
        let explicit = kinds.first().copied();
        let mode = raw.mode.map_or(0, |mode| mode.0);
        let mutable = raw.mutable == Some(true);
        let prefer = raw.prefer.clone().filter(|prefer| !prefer.is_empty());

        let kind = match explicit {
            Some(PathKind::Generate) => {
                if !path_text.ends_with("/**") {
                    fail(
                        self,
                        ErrorKind::GenerateNoDoubleStar {
                            slice: slice.clone(),
                            path: path_text.to_owned(),
                        },
                    );
                } else if path_text[..path_text.len() - 3].contains(['*', '?']) {
                    fail(
                        self,
                        ErrorKind::GenerateExtraWildcard {
                            slice: slice.clone(),
                            path: path_text.to_owned(),
                        },
                    );
                }
                let until = raw.until.as_deref().is_some_and(|until| !until.is_empty());
                if mode != 0 || mutable || until || prefer.is_some() {
                    fail(
                        self,
                        ErrorKind::GenerateOptions {
                            slice: slice.clone(),
                            path: path_text.to_owned(),
                        },
                    );
                }
                PathKind::Generate
            }
            _ if glob => {
                if explicit.is_some() || mode != 0 || mutable || prefer.is_some() {
                    fail(
                        self,
                        ErrorKind::GlobOptions {
                            slice: slice.clone(),
                            path: path_text.to_owned(),
                        },
                    );
                }
                PathKind::Glob
            }
            Some(PathKind::Make) => {
                if !is_dir {
                    fail(
                        self,
                        ErrorKind::MakeWithoutSlash {
                            slice: slice.clone(),
                            path: path_text.to_owned(),
                        },
                    );
                }
                PathKind::Make
            }
            Some(kind) => kind,
            None => PathKind::Copy,
        };

        // Globs and generate paths have already been refused for carrying `mutable`.
        let options_checked = matches!(kind, PathKind::Glob | PathKind::Generate);
        if mutable
            && !options_checked
            && !(kind == PathKind::Text || (kind == PathKind::Copy && !is_dir))
        {
            fail(
                self,
                ErrorKind::MutableNotFile {
                    slice: slice.clone(),
                    path: path_text.to_owned(),
                },
            );
        }
        let until = match raw.until.as_deref() {
            None | Some("") => Until::None,
            Some("mutate") => Until::Mutate,
            Some(other) => {
                fail(
                    self,
                    ErrorKind::InvalidUntil {
                        slice: slice.clone(),
                        path: path_text.to_owned(),
                        value: other.to_owned(),
                    },
                );
                Until::None
            }
        };
        let mut arches = Vec::new();
        for arch in raw.arch.unwrap_or_default().0 {
            match Arch::parse(&arch) {
                Some(arch) => arches.push(arch),
                None => fail(
                    self,
                    ErrorKind::InvalidArch {
                        slice: slice.clone(),
                        path: path_text.to_owned(),
                        value: arch,
                    },
                ),
            }
        }
        if mode > 0o7777 {
            fail(
                self,
                ErrorKind::InvalidMode {
                    slice: slice.clone(),
                    path: path_text.to_owned(),
                    mode,
                },
            );
        }
        if prefer.as_deref() == Some(self.package) {
            fail(
                self,
                ErrorKind::SelfPrefer {
                    slice: slice.clone(),
                    path: path_text.to_owned(),
                },
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let generate = raw.generate.filter(|value| !value.is_empty()).map(|value| {
            if value == "manifest" {
                Generate::Manifest
            } else {
                Generate::Unknown(value)
            }
        });
        Some(PathInfo {
            kind,
            info,
            mode: u32::try_from(mode).unwrap_or(0),
            mutable,
            until,
            arch: ArchSet(arches),
            generate,
            prefer,
        })
    }
}

/// A content path must be absolute and already clean: no `//`, `.` or `..`, and not `/` alone.
/// One trailing slash (a directory) is allowed.
fn is_clean_absolute(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    !rest.is_empty() && rest.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// A hint is short, printable, and uses no whitespace but the ASCII space.
fn valid_hint(hint: &str) -> bool {
    hint.chars().count() <= 40
        && hint
            .chars()
            .all(|c| c == ' ' || !(c.is_whitespace() || c.is_control()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        for good in ["/a", "/a/", "/a/b.c", "/a/**", "/usr/lib/*-linux-*/"] {
            assert!(is_clean_absolute(good), "{good}");
        }
        for bad in [
            "", "/", "a", "./foo/", "/foo/../", "/a//b", "/a/./b", "/a//", "//",
        ] {
            assert!(!is_clean_absolute(bad), "{bad}");
        }
    }

    #[test]
    fn hints() {
        assert!(valid_hint(&"x".repeat(40)));
        assert!(!valid_hint(&"x".repeat(41)));
        assert!(!valid_hint("a\tb"));
        assert!(!valid_hint("a\nb"));
        assert!(valid_hint("Résumé of things"));
    }
}
