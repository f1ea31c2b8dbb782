//! Ubuntu Pro credentials, found the way chisel finds them (SPEC §5.5): apt-style `auth.conf`
//! files in a directory, netrc-like tokens, and a machine token matched against the archive's
//! base URL.
//!
//! The pieces are kept apart so each can be tested on its own: [`auth_dir`] picks the directory
//! from the environment, [`UrlQuery::parse`] takes the archive URL apart, [`machine_matches`]
//! decides one `machine` token, [`find_in_text`] reads one file's text, and
//! [`find_credentials`] walks the directory.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use crate::transport::http::BasicAuth;

/// Where credentials are looked for when the environment names no directory.
pub(crate) const DEFAULT_AUTH_DIR: &str = "/etc/apt/auth.conf.d";

/// The credentials directory: `KERF_AUTH_DIR`, else `CHISEL_AUTH_DIR` (so a chisel user's setup
/// works unchanged), else `/etc/apt/auth.conf.d`. An empty value counts as unset, as in chisel.
pub(crate) fn auth_dir(lookup: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    ["KERF_AUTH_DIR", "CHISEL_AUTH_DIR"]
        .iter()
        .find_map(|name| lookup(name).filter(|value| !value.is_empty()))
        .map_or_else(|| PathBuf::from(DEFAULT_AUTH_DIR), PathBuf::from)
}

/// Why credentials could not even be looked for.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CredentialsError {
    #[error("cannot look up credentials for \"{url}\": {reason}")]
    Url { url: String, reason: &'static str },
    #[error("no credentials for \"{url}\" in the auth directory, and the lock takes packages from this Ubuntu Pro archive (attach the machine with `pro attach`, or set KERF_AUTH_DIR)")]
    Missing { url: String },
}

/// The parts of an archive URL that machine tokens are matched against.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UrlQuery {
    scheme: String,
    /// The host as written, with the brackets of an IPv6 address, without the port.
    host: String,
    /// The port as written; empty when the URL gives none (no default is assumed).
    port: String,
    /// From the first `/` after the authority, without query or fragment; may be empty.
    path: String,
}

impl UrlQuery {
    /// Takes `scheme://[user@]host[:port][/path][?query][#fragment]` apart. The path is
    /// compared as written: nothing is percent-decoded.
    pub(crate) fn parse(url: &str) -> Result<UrlQuery, CredentialsError> {
        let error = |reason| CredentialsError::Url {
            url: url.to_owned(),
            reason,
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| error("no scheme"))?;
        if scheme.is_empty() {
            return Err(error("no scheme"));
        }
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        // Userinfo is not part of what a machine token names.
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = if authority.starts_with('[') {
            let end = authority
                .find(']')
                .ok_or_else(|| error("unclosed IPv6 host"))?;
            let (host, after) = authority.split_at(end + 1);
            match after.strip_prefix(':') {
                Some(port) => (host, port),
                None if after.is_empty() => (host, ""),
                None => return Err(error("text after the IPv6 host")),
            }
        } else {
            authority.rsplit_once(':').unwrap_or((authority, ""))
        };
        if host.is_empty() {
            return Err(error("no host"));
        }
        Ok(UrlQuery {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            port: port.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// Whether a `machine` token names the URL (SPEC §5.5):
/// - a `scheme://` in the token must equal the URL's scheme; a token without one matches only
///   `https` URLs;
/// - the URL host must be a prefix of what follows;
/// - after the host, a `:port` (up to the next `/`) must equal the URL's port, and a URL
///   without an explicit port matches no token with one; a token without a port matches any;
/// - the rest of the token must be a prefix of the URL path (an empty rest matches any path).
pub(crate) fn machine_matches(token: &str, query: &UrlQuery) -> bool {
    let rest = match token.split_once("://") {
        Some((scheme, rest)) if scheme == query.scheme => rest,
        Some(_) => return false,
        None if query.scheme == "https" => token,
        None => return false,
    };
    let Some(rest) = rest.strip_prefix(query.host.as_str()) else {
        return false;
    };
    let rest = match rest.strip_prefix(':') {
        Some(after) => {
            let (port, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            if query.port.is_empty() || port != query.port {
                return false;
            }
            path
        }
        None => rest,
    };
    query.path.starts_with(rest)
}

/// What one file says about the URL: the login and password of its first machine that matches
/// (the last `login` and the last `password` of that entry win), or `None` when no machine
/// matches or that entry lacks a non-empty login or password.
///
/// As in chisel's reader, the text is a stream of whitespace-separated tokens with no comments.
/// While no machine has matched, only the token `machine` means anything, so the value of a
/// `login` or `password` that happens to read `machine` still starts an entry. Inside the
/// matching entry, `login` and `password` take the next token whatever it is, other tokens are
/// ignored, and the next `machine` ends the entry and the file. A keyword with no token after it
/// at the end of the text gives nothing.
pub(crate) fn find_in_text(text: &str, query: &UrlQuery) -> Option<BasicAuth> {
    let mut tokens = text.split_whitespace();
    loop {
        match tokens.next()? {
            "machine" if machine_matches(tokens.next()?, query) => break,
            _ => {}
        }
    }
    let (mut login, mut password) = (None, None);
    while let Some(token) = tokens.next() {
        match token {
            "login" => login = Some(tokens.next()?),
            "password" => password = Some(tokens.next()?),
            "machine" => break,
            _ => {}
        }
    }
    match (login, password) {
        (Some(login), Some(password)) if !login.is_empty() && !password.is_empty() => {
            Some(BasicAuth::new(login, password))
        }
        _ => None,
    }
}

/// Whether a directory entry's name makes it a credentials file: not hidden, and either without
/// an extension or ending in `.conf` (the extension being what follows the last `.`).
pub(crate) fn is_credentials_file_name(name: &[u8]) -> bool {
    if name.starts_with(b".") {
        return false;
    }
    match name.iter().rposition(|&byte| byte == b'.') {
        None => true,
        Some(dot) => &name[dot..] == b".conf",
    }
}

/// The credentials for `url` from the files in `dir`, read in bytewise-sorted name order; the
/// first file that gives a login and a password decides.
///
/// Only regular files count: symbolic links are not followed, like chisel, which looks at
/// each entry without following it. A directory that cannot be read gives `Ok(None)`, and so
/// the archive is skipped; a file that cannot be read is passed over. Bytes that are not UTF-8
/// become U+FFFD, which only matters to a token containing them.
pub(crate) fn find_credentials(
    dir: &Path,
    url: &str,
) -> Result<Option<BasicAuth>, CredentialsError> {
    let query = UrlQuery::parse(url)?;
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Ok(None);
    };
    let mut files: Vec<OsString> = entries
        .filter_map(Result::ok)
        .filter(|entry| is_credentials_file_name(entry.file_name().as_bytes()))
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.file_name())
        .collect();
    files.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in files {
        let Ok(bytes) = fs_err::read(dir.join(&name)) else {
            continue;
        };
        if let Some(found) = find_in_text(&String::from_utf8_lossy(&bytes), &query) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> UrlQuery {
        UrlQuery::parse(url).unwrap_or_else(|error| panic!("{error}"))
    }

    fn auth(login: &str, password: &str) -> Option<BasicAuth> {
        Some(BasicAuth::new(login, password))
    }

    const APPS: &str = "https://esm.ubuntu.com/apps/ubuntu/";

    #[test]
    fn the_directory_comes_from_kerf_then_chisel_then_the_default() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        assert_eq!(auth_dir(env(&[])), PathBuf::from("/etc/apt/auth.conf.d"));
        assert_eq!(
            auth_dir(env(&[("CHISEL_AUTH_DIR", "/c")])),
            PathBuf::from("/c")
        );
        assert_eq!(
            auth_dir(env(&[("KERF_AUTH_DIR", "/k"), ("CHISEL_AUTH_DIR", "/c")])),
            PathBuf::from("/k")
        );
        // Empty is unset.
        assert_eq!(
            auth_dir(env(&[("KERF_AUTH_DIR", ""), ("CHISEL_AUTH_DIR", "/c")])),
            PathBuf::from("/c")
        );
        assert_eq!(
            auth_dir(env(&[("KERF_AUTH_DIR", ""), ("CHISEL_AUTH_DIR", "")])),
            PathBuf::from("/etc/apt/auth.conf.d")
        );
        assert_eq!(
            auth_dir(env(&[("OTHER_AUTH_DIR", "/o")])),
            PathBuf::from("/etc/apt/auth.conf.d")
        );
    }

    #[test]
    fn urls_are_taken_apart_as_written() {
        let parts = |url: &str| {
            let q = query(url);
            (q.scheme, q.host, q.port, q.path)
        };
        let owned = |s: &str, h: &str, p: &str, path: &str| {
            (s.to_owned(), h.to_owned(), p.to_owned(), path.to_owned())
        };
        assert_eq!(
            parts(APPS),
            owned("https", "esm.ubuntu.com", "", "/apps/ubuntu/")
        );
        assert_eq!(
            parts("http://127.0.0.1:4321/"),
            owned("http", "127.0.0.1", "4321", "/")
        );
        assert_eq!(
            parts("http://[::1]:80/a?b#c"),
            owned("http", "[::1]", "80", "/a")
        );
        assert_eq!(parts("https://[::1]"), owned("https", "[::1]", "", ""));
        assert_eq!(
            parts("https://user:pw@host/x"),
            owned("https", "host", "", "/x")
        );
        for bad in [
            "esm.ubuntu.com/apps",
            "://host/",
            "https:///path",
            "http://[::1/",
        ] {
            assert!(UrlQuery::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            UrlQuery::parse("host/x").map_err(|error| error.to_string()),
            Err("cannot look up credentials for \"host/x\": no scheme".to_owned())
        );
    }

    #[test]
    fn scheme_rules() {
        let https = query(APPS);
        let http = query("http://esm.ubuntu.com/apps/ubuntu/");
        // No scheme in the token: https only.
        assert!(machine_matches("esm.ubuntu.com", &https));
        assert!(!machine_matches("esm.ubuntu.com", &http));
        // A scheme must be equal.
        assert!(machine_matches("https://esm.ubuntu.com", &https));
        assert!(!machine_matches("http://esm.ubuntu.com", &https));
        assert!(machine_matches("http://esm.ubuntu.com", &http));
        assert!(!machine_matches("https://esm.ubuntu.com", &http));
        assert!(!machine_matches("HTTPS://esm.ubuntu.com", &https));
        assert!(!machine_matches("tor+https://esm.ubuntu.com", &https));
        let tor = query("tor+https://esm.ubuntu.com/apps/ubuntu/");
        assert!(!machine_matches("esm.ubuntu.com", &tor));
        assert!(machine_matches("tor+https://esm.ubuntu.com", &tor));
    }

    #[test]
    fn the_url_host_must_be_a_prefix_of_the_token() {
        let q = query(APPS);
        assert!(machine_matches("esm.ubuntu.com", &q));
        // Host names are compared as written.
        assert!(!machine_matches("ESM.ubuntu.com", &q));
        assert!(!machine_matches("ubuntu.com", &q));
        assert!(!machine_matches("esm.ubuntu.co", &q));
        assert!(!machine_matches("other.esm.ubuntu.com", &q));
        // What follows the host is then read as a path, which must prefix the URL's.
        assert!(!machine_matches("esm.ubuntu.community", &q));
        assert!(!machine_matches("esm.ubuntu.com.evil", &q));
        let shorter = query("https://esm.ubuntu/apps/");
        assert!(!machine_matches("esm.ubuntu.com", &shorter));
        let v6 = query("https://[::1]:8443/apps/");
        assert!(machine_matches("[::1]:8443/apps", &v6));
        assert!(machine_matches("[::1]", &v6));
        assert!(!machine_matches("::1", &v6));
    }

    #[test]
    fn a_port_in_the_token_must_equal_the_urls() {
        let with_port = query("http://127.0.0.1:4321/apps/ubuntu/");
        let without = query(APPS);
        assert!(machine_matches("http://127.0.0.1:4321", &with_port));
        assert!(machine_matches("http://127.0.0.1:4321/apps", &with_port));
        assert!(machine_matches("http://127.0.0.1", &with_port));
        assert!(machine_matches("http://127.0.0.1/apps/", &with_port));
        assert!(!machine_matches("http://127.0.0.1:432", &with_port));
        assert!(!machine_matches("http://127.0.0.1:43210", &with_port));
        assert!(!machine_matches("http://127.0.0.1:4322/apps", &with_port));
        assert!(!machine_matches("http://127.0.0.1:", &with_port));
        // No default port is assumed for a URL without one.
        assert!(!machine_matches("esm.ubuntu.com:443", &without));
        assert!(!machine_matches("esm.ubuntu.com:", &without));
        let explicit = query("https://esm.ubuntu.com:443/apps/ubuntu/");
        assert!(machine_matches("esm.ubuntu.com:443", &explicit));
        assert!(machine_matches("esm.ubuntu.com", &explicit));
    }

    #[test]
    fn the_tokens_path_must_be_a_prefix_of_the_urls() {
        let q = query(APPS);
        for token in [
            "esm.ubuntu.com/",
            "esm.ubuntu.com/apps",
            "esm.ubuntu.com/ap",
            "esm.ubuntu.com/apps/ubuntu/",
            "https://esm.ubuntu.com/apps/ubuntu/",
        ] {
            assert!(machine_matches(token, &q), "{token}");
        }
        for token in [
            "esm.ubuntu.com/infra",
            "esm.ubuntu.com/apps/ubuntu/dists",
            "esm.ubuntu.com//apps",
            "esm.ubuntu.com/Apps",
            "esm.ubuntu.comapps",
        ] {
            assert!(!machine_matches(token, &q), "{token}");
        }
        let bare = query("https://esm.ubuntu.com");
        assert!(machine_matches("esm.ubuntu.com", &bare));
        assert!(!machine_matches("esm.ubuntu.com/", &bare));
    }

    #[test]
    fn entries_and_the_last_login_and_password() {
        let q = query(APPS);
        assert_eq!(
            find_in_text("machine esm.ubuntu.com login bearer password t0ken\n", &q),
            auth("bearer", "t0ken")
        );
        // Any whitespace separates; the order inside an entry does not matter.
        assert_eq!(
            find_in_text(
                "\tmachine\resm.ubuntu.com/apps\n\npassword  p\n  login u",
                &q
            ),
            auth("u", "p")
        );
        // The last of each wins; unknown tokens are ignored.
        assert_eq!(
            find_in_text(
                "machine esm.ubuntu.com login a foo login b password c bar login d password e",
                &q
            ),
            auth("d", "e")
        );
        // No comments: `#` is just another token, and a `machine` after it counts.
        assert_eq!(
            find_in_text(
                "# machine esm.ubuntu.com login x password y\nmachine other login u password p",
                &q
            ),
            auth("x", "y")
        );
        assert_eq!(
            find_in_text("#machine esm.ubuntu.com login x password y", &q),
            None
        );
        // login/password before any machine belong to nothing.
        assert_eq!(
            find_in_text("login u password p machine esm.ubuntu.com", &q),
            None
        );
        assert_eq!(find_in_text("", &q), None);
    }

    #[test]
    fn several_machines_in_one_file() {
        let q = query(APPS);
        let text = "machine esm.ubuntu.com/infra login infra password i\n\
                    machine esm.ubuntu.com/apps login apps password a\n\
                    machine esm.ubuntu.com login any password x\n";
        assert_eq!(find_in_text(text, &q), auth("apps", "a"));
        assert_eq!(
            find_in_text(text, &query("https://esm.ubuntu.com/infra/ubuntu/")),
            auth("infra", "i")
        );
        assert_eq!(
            find_in_text(text, &query("https://esm.ubuntu.com/fips/ubuntu/")),
            auth("any", "x")
        );
        // The login of a later machine does not leak into the matching one.
        assert_eq!(
            find_in_text(
                "machine esm.ubuntu.com password p machine other login u",
                &q
            ),
            None
        );
        // The first matching machine decides the file, even when it gives nothing.
        assert_eq!(
            find_in_text(
                "machine esm.ubuntu.com login u\nmachine esm.ubuntu.com/apps login v password w",
                &q
            ),
            None
        );
    }

    #[test]
    fn keyword_values_as_chisel_reads_them() {
        let q = query("http://acme.com/bar");
        // Outside the matching entry a value reading `machine` starts an entry, so the next
        // `machine` keyword becomes a machine token and `http://acme.com/bar` is never one.
        assert_eq!(
            find_in_text(
                "machine http://acme.com/foo login u1 password machine\n\
                 machine http://acme.com/bar login u2 password p2",
                &q
            ),
            None
        );
        // Inside it, `login` and `password` take the next token whatever it is.
        assert_eq!(
            find_in_text(
                "machine http://acme.com/bar login machine password login",
                &q
            ),
            auth("machine", "login")
        );
        // A keyword at the very end gives nothing.
        assert_eq!(
            find_in_text("machine http://acme.com/bar password p login", &q),
            None
        );
        assert_eq!(
            find_in_text("machine http://acme.com/bar login u password", &q),
            None
        );
        assert_eq!(find_in_text("machine", &q), None);
    }

    #[test]
    fn an_entry_without_login_or_password_gives_nothing() {
        let q = query(APPS);
        assert_eq!(find_in_text("machine esm.ubuntu.com login u", &q), None);
        assert_eq!(find_in_text("machine esm.ubuntu.com password p", &q), None);
        assert_eq!(find_in_text("machine esm.ubuntu.com", &q), None);
    }

    #[test]
    fn credentials_file_names() {
        for name in ["90ubuntu-advantage", "ubuntu-pro.conf", "a.b.conf", "conf"] {
            assert!(is_credentials_file_name(name.as_bytes()), "{name}");
        }
        for name in [
            ".hidden",
            ".hidden.conf",
            ".conf",
            "x.conf.bak",
            "x.cfg",
            "x.CONF",
            "x.",
            "x.conf~",
        ] {
            assert!(!is_credentials_file_name(name.as_bytes()), "{name}");
        }
    }

    fn write(dir: &Path, name: &str, text: &str) {
        fs_err::write(dir.join(name), text).expect("write a credentials file");
    }

    #[test]
    fn files_are_searched_in_sorted_order_and_the_first_answer_wins() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dir = dir.path();
        write(dir, "b.conf", "machine esm.ubuntu.com login b password b\n");
        write(dir, "a", "machine esm.ubuntu.com login a password a\n");
        write(dir, "B", "machine esm.ubuntu.com login B password B\n");
        // Bytewise: "B" < "a" < "b.conf".
        assert_eq!(find_credentials(dir, APPS), Ok(auth("B", "B")));
        fs_err::remove_file(dir.join("B")).expect("rm");
        assert_eq!(find_credentials(dir, APPS), Ok(auth("a", "a")));
        // A file without a match, or with an empty answer, passes to the next one.
        write(dir, "0-other", "machine other.example login o password o\n");
        write(dir, "1-empty", "machine esm.ubuntu.com login u\n");
        assert_eq!(find_credentials(dir, APPS), Ok(auth("a", "a")));
        assert_eq!(
            find_credentials(dir, "https://other.example/x/"),
            Ok(auth("o", "o"))
        );
        assert_eq!(find_credentials(dir, "https://nowhere.example/"), Ok(None));
        assert_eq!(
            find_credentials(dir, "http://esm.ubuntu.com/apps/ubuntu/"),
            Ok(None),
            "no scheme in the tokens: https only"
        );
    }

    #[test]
    fn hidden_files_other_extensions_directories_and_links_are_not_read() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dir = dir.path();
        let line = |who: &str| format!("machine esm.ubuntu.com login {who} password {who}\n");
        write(dir, ".hidden", &line("hidden"));
        write(dir, ".hidden.conf", &line("hidden-conf"));
        write(dir, "a.bak", &line("bak"));
        write(dir, "a.conf.save", &line("save"));
        fs_err::create_dir(dir.join("a-dir")).expect("mkdir");
        write(&dir.join("a-dir"), "inner", &line("inner"));
        let outside = tempfile::tempdir().expect("temporary directory");
        write(outside.path(), "target", &line("link"));
        fs_err::os::unix::fs::symlink(outside.path().join("target"), dir.join("a-link"))
            .expect("symlink");
        assert_eq!(find_credentials(dir, APPS), Ok(None));
        write(dir, "z.conf", &line("z"));
        assert_eq!(find_credentials(dir, APPS), Ok(auth("z", "z")));
        write(dir, "y", &line("y"));
        assert_eq!(find_credentials(dir, APPS), Ok(auth("y", "y")));
    }

    #[test]
    fn an_unreadable_directory_or_file_is_passed_over() {
        let dir = tempfile::tempdir().expect("temporary directory");
        assert_eq!(
            find_credentials(&dir.path().join("missing"), APPS),
            Ok(None)
        );
        write(
            dir.path(),
            "not-a-dir",
            "machine esm.ubuntu.com login n password n",
        );
        assert_eq!(
            find_credentials(&dir.path().join("not-a-dir"), APPS),
            Ok(None)
        );
        // Not UTF-8: only tokens with the bad bytes change.
        fs_err::write(
            dir.path().join("latin1"),
            b"caf\xe9 machine esm.ubuntu.com login u password p\n",
        )
        .expect("write");
        assert_eq!(find_credentials(dir.path(), APPS), Ok(auth("u", "p")));
        // A URL that cannot be taken apart is an error, not "no credentials".
        assert!(find_credentials(dir.path(), "esm.ubuntu.com").is_err());
    }

    #[test]
    fn an_unreadable_file_is_skipped() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temporary directory");
        let dir = dir.path();
        write(dir, "a", "machine esm.ubuntu.com login a password a\n");
        write(dir, "b", "machine esm.ubuntu.com login b password b\n");
        fs_err::set_permissions(dir.join("a"), std::fs::Permissions::from_mode(0o000))
            .expect("chmod");
        if fs_err::read(dir.join("a")).is_ok() {
            // Running as root: permissions do not stop a read.
            return;
        }
        assert_eq!(find_credentials(dir, APPS), Ok(auth("b", "b")));
    }
}
