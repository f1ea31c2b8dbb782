//! Accounts in a cut root: `--user NAME[:UID[:GID]]` and `--group NAME:GID` merged into the
//! root's `/etc/passwd` and `/etc/group` (whatever `base-passwd` or a slice put there is kept),
//! and the user's home directory.
//!
//! Names and ids are checked before anything is written: a name that would break the colon-
//! separated files, an id out of range, or an account that clashes with an existing entry of
//! another id is an error naming both. Adding an account that is already there, identically,
//! changes nothing, so a cut run twice gives the same files.

use std::path::Path;

use crate::extract::root::{RelPath, Root, RootError};

/// The largest id: `(uid_t)-1` means "no id" to the kernel and chown.
pub(crate) const MAX_ID: u32 = 4_294_967_294;
/// Where ids are allocated from when the user gives none (as Debian's adduser does).
const FIRST_ALLOCATED_ID: u32 = 1000;
/// The login shell of added users: images run their entrypoint, not a login shell.
const SHELL: &str = "/usr/sbin/nologin";

/// Why an account cannot be added.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    #[error("invalid --{option} \"{given}\": expected {expected}")]
    Syntax {
        option: &'static str,
        given: String,
        expected: &'static str,
    },
    #[error("invalid --{option} \"{given}\": the name {problem}")]
    Name {
        option: &'static str,
        given: String,
        problem: &'static str,
    },
    #[error("invalid --{option} \"{given}\": {what} \"{id}\" is not a number from 0 to {MAX_ID}")]
    Id {
        option: &'static str,
        given: String,
        what: &'static str,
        id: String,
    },
    #[error("{what} \"{name}\" already exists in {file} with {id_name} {existing}, not {wanted}")]
    NameTaken {
        what: &'static str,
        name: String,
        file: &'static str,
        id_name: &'static str,
        existing: u32,
        wanted: u32,
    },
    #[error(
        "{id_name} {id} is already {what} \"{owner}\" in {file}; cannot give it to \"{name}\""
    )]
    IdTaken {
        what: &'static str,
        id_name: &'static str,
        id: u32,
        owner: String,
        file: &'static str,
        name: String,
    },
    #[error("{file} line {line}: {problem}")]
    Existing {
        file: &'static str,
        line: usize,
        problem: String,
    },
    #[error("no free {id_name} from {FIRST_ALLOCATED_ID} up for \"{name}\"")]
    NoFreeId { id_name: &'static str, name: String },
    #[error("cannot add the accounts: {0}")]
    Root(#[from] RootError),
    #[error("cannot add the accounts: {path} is not UTF-8 text")]
    NotText { path: String },
    #[error("cannot give {path} to {uid}:{gid}: {source}")]
    Chown {
        path: String,
        uid: u32,
        gid: u32,
        source: std::io::Error,
    },
}

impl AccountError {
    /// Whether what the user asked for (or the root's files) is at fault, rather than the disk.
    pub(crate) fn is_user_error(&self) -> bool {
        match self {
            AccountError::Syntax { .. }
            | AccountError::Name { .. }
            | AccountError::Id { .. }
            | AccountError::NameTaken { .. }
            | AccountError::IdTaken { .. }
            | AccountError::Existing { .. }
            | AccountError::NoFreeId { .. }
            | AccountError::NotText { .. } => true,
            AccountError::Root(_) | AccountError::Chown { .. } => false,
        }
    }
}

/// A `--user`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserSpec {
    pub(crate) name: String,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
}

/// A `--group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupSpec {
    pub(crate) name: String,
    pub(crate) gid: u32,
}

impl UserSpec {
    /// `NAME`, `NAME:UID` or `NAME:UID:GID`.
    pub(crate) fn parse(given: &str) -> Result<UserSpec, AccountError> {
        let parts: Vec<&str> = given.split(':').collect();
        if parts.len() > 3 {
            return Err(AccountError::Syntax {
                option: "user",
                given: given.to_owned(),
                expected: "NAME, NAME:UID or NAME:UID:GID",
            });
        }
        check_name("user", given, parts[0])?;
        let id = |index: usize, what| {
            parts
                .get(index)
                .map(|text| parse_id("user", given, what, text))
                .transpose()
        };
        Ok(UserSpec {
            name: parts[0].to_owned(),
            uid: id(1, "UID")?,
            gid: id(2, "GID")?,
        })
    }
}

impl GroupSpec {
    /// `NAME:GID`.
    pub(crate) fn parse(given: &str) -> Result<GroupSpec, AccountError> {
        let Some((name, gid)) = given.split_once(':') else {
            return Err(AccountError::Syntax {
                option: "group",
                given: given.to_owned(),
                expected: "NAME:GID",
            });
        };
        check_name("group", given, name)?;
        Ok(GroupSpec {
            name: name.to_owned(),
            gid: parse_id("group", given, "GID", gid)?,
        })
    }
}

/// A name useradd would take and the files can hold: 1 to 32 of letters, digits, `_`, `.`,
/// `-` (not first), an optional final `$`, and not all digits (it would read as an id).
fn check_name(option: &'static str, given: &str, name: &str) -> Result<(), AccountError> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > 32 {
        Some("is longer than 32 characters")
    } else if name.starts_with('-') {
        Some("starts with '-'")
    } else if name.bytes().all(|byte| byte.is_ascii_digit()) {
        Some("is all digits, which reads as an id")
    } else {
        let body = name.strip_suffix('$').unwrap_or(name);
        (!body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-')))
        .then_some("may hold only letters, digits, '_', '.', '-' and a final '$' (no ':', space or newline)")
    };
    match problem {
        Some(problem) => Err(AccountError::Name {
            option,
            given: given.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

fn parse_id(
    option: &'static str,
    given: &str,
    what: &'static str,
    text: &str,
) -> Result<u32, AccountError> {
    text.parse::<u32>()
        .ok()
        .filter(|id| *id <= MAX_ID && text.bytes().all(|byte| byte.is_ascii_digit()))
        .ok_or_else(|| AccountError::Id {
            option,
            given: given.to_owned(),
            what,
            id: text.to_owned(),
        })
}

/// The accounts to add.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Accounts {
    pub(crate) users: Vec<UserSpec>,
    pub(crate) groups: Vec<GroupSpec>,
}

impl Accounts {
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }
}

/// A user as added, ids resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddedUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// The name of the user's primary group.
    pub(crate) group: String,
    /// `/home/NAME`.
    pub(crate) home: String,
}

/// The new `/etc/passwd` and `/etc/group`, and the users added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Merged {
    pub(crate) passwd: String,
    pub(crate) group: String,
    pub(crate) users: Vec<AddedUser>,
}

/// One entry of a colon file: name and id (field 3), with its line number.
struct Entry {
    name: String,
    id: u32,
}

/// The entries of `/etc/passwd` or `/etc/group`; blank lines and `#` comments are skipped.
fn entries(file: &'static str, text: &str) -> Result<Vec<Entry>, AccountError> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let id = fields.get(2).and_then(|id| id.parse::<u32>().ok());
        match (fields.first(), id) {
            (Some(name), Some(id)) if !name.is_empty() => found.push(Entry {
                name: (*name).to_owned(),
                id,
            }),
            _ => {
                return Err(AccountError::Existing {
                    file,
                    line: index + 1,
                    problem: format!("expected NAME:PASSWORD:ID:..., found {line:?}"),
                })
            }
        }
    }
    Ok(found)
}

/// One of the two files while accounts are added to it.
struct ColonFile {
    file: &'static str,
    what: &'static str,
    id_name: &'static str,
    text: String,
    entries: Vec<Entry>,
}

impl ColonFile {
    fn new(
        file: &'static str,
        what: &'static str,
        id_name: &'static str,
        text: &str,
    ) -> Result<ColonFile, AccountError> {
        Ok(ColonFile {
            file,
            what,
            id_name,
            entries: entries(file, text)?,
            text: text.to_owned(),
        })
    }

    fn by_name(&self, name: &str) -> Option<u32> {
        self.entries
            .iter()
            .find(|entry| entry.name == name)
            .map(|entry| entry.id)
    }

    fn by_id(&self, id: u32) -> Option<&str> {
        self.entries
            .iter()
            .find(|entry| entry.id == id)
            .map(|entry| entry.name.as_str())
    }

    /// The lowest free id from [`FIRST_ALLOCATED_ID`], `preferred` first when it is free.
    fn free_id(&self, preferred: Option<u32>, name: &str) -> Result<u32, AccountError> {
        if let Some(id) = preferred.filter(|id| self.by_id(*id).is_none()) {
            return Ok(id);
        }
        (FIRST_ALLOCATED_ID..=MAX_ID)
            .find(|id| self.by_id(*id).is_none())
            .ok_or_else(|| AccountError::NoFreeId {
                id_name: self.id_name,
                name: name.to_owned(),
            })
    }

    /// Whether `name` may get `id`: `Ok(true)` to add it, `Ok(false)` when it is already there.
    fn check(&self, name: &str, id: u32) -> Result<bool, AccountError> {
        if let Some(existing) = self.by_name(name) {
            if existing == id {
                return Ok(false);
            }
            return Err(AccountError::NameTaken {
                what: self.what,
                name: name.to_owned(),
                file: self.file,
                id_name: self.id_name,
                existing,
                wanted: id,
            });
        }
        if let Some(owner) = self.by_id(id) {
            return Err(AccountError::IdTaken {
                what: self.what,
                id_name: self.id_name,
                id,
                owner: owner.to_owned(),
                file: self.file,
                name: name.to_owned(),
            });
        }
        Ok(true)
    }

    fn add(&mut self, name: &str, id: u32, line: &str) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text.push_str(line);
        self.text.push('\n');
        self.entries.push(Entry {
            name: name.to_owned(),
            id,
        });
    }
}

/// Adds `accounts` to the texts of `/etc/passwd` and `/etc/group`: groups first, then users
/// (each with a group of its own name unless its GID is an existing group's).
pub(crate) fn merge(
    passwd: &str,
    group: &str,
    accounts: &Accounts,
) -> Result<Merged, AccountError> {
    let mut passwd = ColonFile::new("/etc/passwd", "user", "UID", passwd)?;
    let mut groups = ColonFile::new("/etc/group", "group", "GID", group)?;
    for spec in &accounts.groups {
        if groups.check(&spec.name, spec.gid)? {
            groups.add(
                &spec.name,
                spec.gid,
                &format!("{}:x:{}:", spec.name, spec.gid),
            );
        }
    }
    let mut users = Vec::new();
    for spec in &accounts.users {
        let uid = match (spec.uid, passwd.by_name(&spec.name)) {
            (Some(uid), _) => uid,
            (None, Some(existing)) => existing,
            (None, None) => passwd.free_id(None, &spec.name)?,
        };
        let add_user = passwd.check(&spec.name, uid)?;
        let gid = match (spec.gid, groups.by_name(&spec.name)) {
            (Some(gid), _) => gid,
            (None, Some(existing)) => existing,
            (None, None) => groups.free_id(Some(uid), &spec.name)?,
        };
        let group_name = match groups.by_id(gid) {
            Some(existing) => existing.to_owned(),
            None => {
                groups.check(&spec.name, gid)?;
                groups.add(&spec.name, gid, &format!("{}:x:{gid}:", spec.name));
                spec.name.clone()
            }
        };
        let home = format!("/home/{}", spec.name);
        if add_user {
            passwd.add(
                &spec.name,
                uid,
                &format!("{}:x:{uid}:{gid}::{home}:{SHELL}", spec.name),
            );
        }
        users.push(AddedUser {
            name: spec.name.clone(),
            uid,
            gid,
            group: group_name,
            home,
        });
    }
    Ok(Merged {
        passwd: passwd.text,
        group: groups.text,
        users,
    })
}

/// Adds the accounts to the root on disk: the two files (created 0644 when absent, else
/// keeping their mode), and each user's home (0755, given to the user when kerf runs as root;
/// an image layer records the owner either way).
pub(crate) fn apply(root_dir: &Path, accounts: &Accounts) -> Result<Vec<AddedUser>, AccountError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let root = Root::create(root_dir)?;
    let passwd = read(&root, "/etc/passwd")?;
    let group = read(&root, "/etc/group")?;
    let merged = merge(
        passwd.as_ref().map_or("", |(text, _)| text),
        group.as_ref().map_or("", |(text, _)| text),
        accounts,
    )?;
    make_dirs(&root, "etc")?;
    write(
        &root,
        "etc/passwd",
        &merged.passwd,
        passwd.map(|(_, mode)| mode),
    )?;
    write(
        &root,
        "etc/group",
        &merged.group,
        group.map(|(_, mode)| mode),
    )?;
    let as_root = rustix::process::geteuid().is_root();
    for user in &merged.users {
        let home = RelPath::new(&user.home).ok_or_else(|| AccountError::Syntax {
            option: "user",
            given: user.name.clone(),
            expected: "a name that is a plain path component",
        })?;
        make_dirs(&root, home.as_str())?;
        if as_root {
            let host = root.host_path(&home)?;
            fs_err::os::unix::fs::lchown(&host, Some(user.uid), Some(user.gid)).map_err(
                |source| AccountError::Chown {
                    path: user.home.clone(),
                    uid: user.uid,
                    gid: user.gid,
                    source,
                },
            )?;
        }
    }
    Ok(merged.users)
}

/// The text and mode of a file of the root, if it is there.
fn read(root: &Root, path: &str) -> Result<Option<(String, u32)>, AccountError> {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(found) = root.lookup(path)? else {
        return Ok(None);
    };
    let bytes = fs_err::read(&found.host).map_err(|source| {
        AccountError::Root(RootError::Io {
            action: "read",
            path: path.to_owned(),
            root: root.dir().to_owned(),
            source,
        })
    })?;
    let text = String::from_utf8(bytes).map_err(|_| AccountError::NotText {
        path: path.to_owned(),
    })?;
    Ok(Some((text, found.metadata.permissions().mode() & 0o7777)))
}

/// Creates `path` and its missing parents, 0755.
fn make_dirs(root: &Root, path: &str) -> Result<(), AccountError> {
    let Some(rel) = RelPath::new(path) else {
        return Ok(());
    };
    let mut all = rel.ancestors();
    all.push(rel);
    for dir in all {
        if root.metadata(&dir)?.is_none() {
            root.make_dir(&dir, 0o755, false)?;
        }
    }
    Ok(())
}

fn write(root: &Root, path: &str, text: &str, mode: Option<u32>) -> Result<(), AccountError> {
    let rel = RelPath::new(path).ok_or_else(|| AccountError::NotText {
        path: path.to_owned(),
    })?;
    root.write_file(&rel, &mut text.as_bytes(), mode.unwrap_or(0o644))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nshadow:x:42:\nnogroup:x:65534:\n";

    fn accounts(users: &[&str], groups: &[&str]) -> Accounts {
        Accounts {
            users: users.iter().map(|u| UserSpec::parse(u).unwrap()).collect(),
            groups: groups
                .iter()
                .map(|g| GroupSpec::parse(g).unwrap())
                .collect(),
        }
    }

    #[test]
    fn a_user_is_appended_with_a_group_of_its_own() {
        let merged = merge(PASSWD, GROUP, &accounts(&["app:1000:1000"], &[])).unwrap();
        assert_eq!(
            merged.passwd,
            format!("{PASSWD}app:x:1000:1000::/home/app:/usr/sbin/nologin\n")
        );
        assert_eq!(merged.group, format!("{GROUP}app:x:1000:\n"));
        assert_eq!(
            merged.users,
            [AddedUser {
                name: "app".to_owned(),
                uid: 1000,
                gid: 1000,
                group: "app".to_owned(),
                home: "/home/app".to_owned(),
            }]
        );
    }

    #[test]
    fn ids_are_allocated_from_1000_and_existing_groups_are_joined() {
        let passwd = format!("{PASSWD}first:x:1000:1000::/home/first:/bin/sh");
        let group = format!("{GROUP}first:x:1000:\n");
        let merged = merge(
            &passwd,
            &group,
            &accounts(&["second", "svc:2000:42"], &["extra:1001"]),
        )
        .unwrap();
        assert_eq!(
            merged.passwd,
            format!(
                "{passwd}\nsecond:x:1001:1002::/home/second:/usr/sbin/nologin\nsvc:x:2000:42::/home/svc:/usr/sbin/nologin\n"
            )
        );
        // GID 1001 was taken by --group extra, so second's own group got the next free one.
        assert_eq!(
            merged.group,
            format!("{group}extra:x:1001:\nsecond:x:1002:\n")
        );
        assert_eq!(merged.users[1].group, "shadow");
    }

    #[test]
    fn files_are_created_when_absent_and_a_rerun_changes_nothing() {
        let first = merge("", "", &accounts(&["app:1000:1000"], &["web:33"])).unwrap();
        assert_eq!(
            first.passwd,
            "app:x:1000:1000::/home/app:/usr/sbin/nologin\n"
        );
        assert_eq!(first.group, "web:x:33:\napp:x:1000:\n");
        let again = merge(
            &first.passwd,
            &first.group,
            &accounts(&["app:1000:1000"], &["web:33"]),
        )
        .unwrap();
        assert_eq!(again, first);
    }

    #[test]
    fn clashes_name_both_entries() {
        let error = |users: &[&str], groups: &[&str]| {
            merge(PASSWD, GROUP, &accounts(users, groups))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&["nobody:1000"], &[]),
            "user \"nobody\" already exists in /etc/passwd with UID 65534, not 1000"
        );
        assert_eq!(
            error(&["app:0"], &[]),
            "UID 0 is already user \"root\" in /etc/passwd; cannot give it to \"app\""
        );
        assert_eq!(
            error(&[], &["shadow:43"]),
            "group \"shadow\" already exists in /etc/group with GID 42, not 43"
        );
        assert_eq!(
            error(&[], &["staff:42"]),
            "GID 42 is already group \"shadow\" in /etc/group; cannot give it to \"staff\""
        );
        // The user's own group would need GID 1001, but its name is GID 1000 already.
        assert_eq!(
            error(&["app:1000:1001"], &["app:1000"]),
            "group \"app\" already exists in /etc/group with GID 1000, not 1001"
        );
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let user = |text: &str| UserSpec::parse(text).unwrap_err().to_string();
        assert_eq!(
            user("a:1:2:3"),
            "invalid --user \"a:1:2:3\": expected NAME, NAME:UID or NAME:UID:GID"
        );
        assert_eq!(user(""), "invalid --user \"\": the name is empty");
        assert_eq!(
            user("a b"),
            "invalid --user \"a b\": the name may hold only letters, digits, '_', '.', '-' and a final '$' (no ':', space or newline)"
        );
        assert_eq!(
            user("app\nroot"),
            "invalid --user \"app\nroot\": the name may hold only letters, digits, '_', '.', '-' and a final '$' (no ':', space or newline)"
        );
        assert_eq!(
            user("-x"),
            "invalid --user \"-x\": the name starts with '-'"
        );
        assert_eq!(
            user("1000"),
            "invalid --user \"1000\": the name is all digits, which reads as an id"
        );
        assert_eq!(
            user("app:4294967295"),
            "invalid --user \"app:4294967295\": UID \"4294967295\" is not a number from 0 to 4294967294"
        );
        assert_eq!(
            user("app:1000:-1"),
            "invalid --user \"app:1000:-1\": GID \"-1\" is not a number from 0 to 4294967294"
        );
        assert_eq!(
            user("app:+5"),
            "invalid --user \"app:+5\": UID \"+5\" is not a number from 0 to 4294967294"
        );
        assert_eq!(
            GroupSpec::parse("web").unwrap_err().to_string(),
            "invalid --group \"web\": expected NAME:GID"
        );
        assert_eq!(UserSpec::parse("build$").unwrap().name, "build$");
    }

    #[test]
    fn a_malformed_existing_line_is_reported_with_its_number() {
        let error = merge(
            "root:x:0:0::/root:/bin/sh\nbroken\n",
            "",
            &accounts(&["app"], &[]),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "/etc/passwd line 2: expected NAME:PASSWORD:ID:..., found \"broken\""
        );
    }

    #[test]
    fn apply_writes_the_files_and_the_home_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("etc")).unwrap();
        fs_err::write(dir.path().join("etc/group"), GROUP).unwrap();
        let users = apply(dir.path(), &accounts(&["app:1000:1000"], &[])).unwrap();
        assert_eq!(users[0].home, "/home/app");
        assert_eq!(
            fs_err::read_to_string(dir.path().join("etc/passwd")).unwrap(),
            "app:x:1000:1000::/home/app:/usr/sbin/nologin\n"
        );
        assert_eq!(
            fs_err::read_to_string(dir.path().join("etc/group")).unwrap(),
            format!("{GROUP}app:x:1000:\n")
        );
        use std::os::unix::fs::MetadataExt as _;
        let home = fs_err::metadata(dir.path().join("home/app")).unwrap();
        assert_eq!(home.mode() & 0o7777, 0o755);
        if rustix::process::geteuid().is_root() {
            assert_eq!((home.uid(), home.gid()), (1000, 1000));
        }
    }
}
