//! Cuts with mutate scripts: what they may change, what the manifest then records, the order
//! they run in, and the `until: mutate` removal after them.

use super::tests::{
    assert_tree, cut_err, cut_ok, d, f, hello_archive, only, release, sha, Env, CONF,
};

fn manifest_lines(env: &Env) -> Vec<String> {
    let compressed =
        fs_err::read(env.root().join("var/lib/chisel/manifest.wall")).expect("the manifest");
    let text =
        String::from_utf8(zstd::decode_all(compressed.as_slice()).expect("zstd")).expect("UTF-8");
    text.lines().map(str::to_owned).collect()
}

/// Both kinds of mutable content (a copied file and a text), an identical rewrite, a scratch
/// file present only for the script, and the manifest's record of the final content.
#[test]
fn scripts_change_mutable_files_and_the_manifest_records_the_final_hash() {
    let archive = hello_archive();
    let server = archive.server().start();
    let slices = r#"
        package: hello
        slices:
          config:
            contents:
              /etc/conf: {mutable: true}
              /etc/greeting: {text: "hello\n", mutable: true}
              /etc/same: {text: "same\n", mutable: true}
              /etc/scratch: {text: "from scratch\n", until: mutate}
            mutate: |
              conf = content.read("/etc/conf")
              content.write("/etc/conf", conf + content.read("/etc/scratch"))
              content.write("/etc/greeting", "hello, world\n")
              content.write("/etc/same", "same\n")
          manifest:
            contents:
              /var/lib/chisel/**: {generate: manifest}
    "#;
    let release = release("v3", &[only("ubuntu", &archive)], &[("hello", slices)]);
    let env = Env::new();
    let summary = cut_ok(
        &release,
        &["hello_config", "hello_manifest"],
        &env.options(&[("ubuntu", &server)]),
    );

    let conf = format!("{CONF}from scratch\n");
    let manifest = env.root().join("var/lib/chisel/manifest.wall");
    let manifest_size = fs_err::metadata(&manifest).expect("manifest").len();
    let mut expected_tree = vec![
        d(0o750, "/etc/"),
        f(0o644, &conf, "/etc/conf"),
        f(0o644, "hello, world\n", "/etc/greeting"),
        f(0o644, "same\n", "/etc/same"),
        d(0o755, "/var/"),
        d(0o755, "/var/lib/"),
        d(0o755, "/var/lib/chisel/"),
    ];
    let tree = super::tests::tree(&env.root());
    let manifest_line = tree
        .iter()
        .find(|line| line.ends_with("/var/lib/chisel/manifest.wall"))
        .expect("the manifest is in the tree")
        .clone();
    assert!(
        manifest_line.contains(&format!(" {manifest_size} ")),
        "{manifest_line}"
    );
    expected_tree.push(manifest_line);
    assert_tree(&env.root(), &expected_tree);
    assert_eq!(summary.paths, 3, "three files; /etc/ is an implicit parent");

    let lines = manifest_lines(&env);
    let path_lines: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("{\"kind\":\"path\""))
        .collect();
    assert_eq!(
        path_lines,
        [
            &format!(
                "{{\"kind\":\"path\",\"path\":\"/etc/conf\",\"mode\":\"0644\",\"slices\":[\"hello_config\"],\"sha256\":\"{}\",\"final_sha256\":\"{}\",\"size\":{}}}",
                sha(CONF.as_bytes()),
                sha(conf.as_bytes()),
                conf.len()
            ),
            &format!(
                "{{\"kind\":\"path\",\"path\":\"/etc/greeting\",\"mode\":\"0644\",\"slices\":[\"hello_config\"],\"sha256\":\"{}\",\"final_sha256\":\"{}\",\"size\":13}}",
                sha(b"hello\n"),
                sha(b"hello, world\n")
            ),
            &format!(
                "{{\"kind\":\"path\",\"path\":\"/etc/same\",\"mode\":\"0644\",\"slices\":[\"hello_config\"],\"sha256\":\"{}\",\"size\":5}}",
                sha(b"same\n")
            ),
            &"{\"kind\":\"path\",\"path\":\"/var/lib/chisel/manifest.wall\",\"mode\":\"0644\",\"slices\":[\"hello_manifest\"]}".to_owned(),
        ]
    );
    assert!(
        !lines.iter().any(|line| line.contains("/etc/scratch")),
        "until paths are not in the manifest"
    );
}

/// A failing script names its slice, line and message; what it would have written is not
/// there, and no manifest claims the cut is complete.
#[test]
fn a_failing_script_stops_the_cut_with_its_slice_and_line() {
    let archive = hello_archive();
    let server = archive.server().start();
    let slices = r#"
        package: hello
        slices:
          config:
            contents:
              /etc/conf: {mutable: true}
              /etc/copied: {copy: /etc/conf}
              /var/lib/chisel/**: {generate: manifest}
            mutate: |
              content.write("/etc/conf", "changed\n")
              content.write("/etc/copied", "changed\n")
    "#;
    let release = release("v3", &[only("ubuntu", &archive)], &[("hello", slices)]);
    let env = Env::new();
    assert_eq!(
        cut_err(
            &release,
            &["hello_config"],
            &env.options(&[("ubuntu", &server)])
        ),
        "slice hello_config: mutate:2:1: cannot write file which is not mutable: /etc/copied"
    );
    assert_eq!(
        fs_err::read_to_string(env.root().join("etc/copied")).expect("copied"),
        CONF
    );
    assert!(!env.root().join("var/lib/chisel/manifest.wall").exists());
    env.assert_nothing_outside_the_root();
}

/// A syntax error is reported before anything is fetched.
#[test]
fn a_syntax_error_stops_the_cut_before_any_download() {
    let archive = hello_archive();
    let server = archive.server().start();
    let slices = r#"
        package: hello
        slices:
          config:
            contents:
              /etc/conf: {mutable: true}
            mutate: |
              if True
                  pass
    "#;
    let release = release("v3", &[only("ubuntu", &archive)], &[("hello", slices)]);
    let env = Env::new();
    let message = cut_err(
        &release,
        &["hello_config"],
        &env.options(&[("ubuntu", &server)]),
    );
    assert!(
        message.starts_with("slice hello_config: mutate:1:8: Parse error"),
        "{message}"
    );
    assert_eq!(server.requests().len(), 0);
    assert!(!env.root().exists());
}

/// Essentials' scripts run first: a slice's script sees what its essential's script wrote.
#[test]
fn scripts_run_in_selection_order() {
    let archive = hello_archive();
    let server = archive.server().start();
    let slices = r#"
        package: hello
        slices:
          first:
            contents:
              /etc/log: {text: "", mutable: true}
            mutate: |
              content.write("/etc/log", content.read("/etc/log") + "first\n")
          second:
            essential: [hello_first]
            contents:
              /etc/log: {text: "", mutable: true}
            mutate: |
              content.write("/etc/log", content.read("/etc/log") + "second\n")
    "#;
    let release = release("v1", &[only("ubuntu", &archive)], &[("hello", slices)]);
    let env = Env::new();
    cut_ok(
        &release,
        &["hello_second"],
        &env.options(&[("ubuntu", &server)]),
    );
    assert_eq!(
        fs_err::read_to_string(env.root().join("etc/log")).expect("log"),
        "first\nsecond\n"
    );
}

/// `until: mutate` removes files and glob matches after the scripts, keeps a directory that
/// is not empty, and keeps a path that another selected slice lists without `until`.
#[test]
fn until_mutate_removes_only_what_every_listing_slice_gives_up() {
    let archive = hello_archive();
    let server = archive.server().start();
    let slices = r#"
        package: hello
        slices:
          scratch:
            contents:
              /etc/conf: {until: mutate}
              /usr/lib/*/libx.so*: {until: mutate}
              /opt/data/: {until: mutate}
              /usr/share/doc/copyright: {until: mutate}
            mutate: |
              content.read("/etc/conf")
              content.read("/usr/lib/x86_64-linux-gnu/libx.so.1")
          keeper:
            contents:
              /usr/share/doc/copyright:
              /opt/data/note: {text: "note\n"}
    "#;
    let release = release("v3", &[only("ubuntu", &archive)], &[("hello", slices)]);
    let env = Env::new();
    cut_ok(
        &release,
        &["hello_scratch", "hello_keeper"],
        &env.options(&[("ubuntu", &server)]),
    );
    assert_tree(
        &env.root(),
        &[
            d(0o750, "/etc/"),
            d(0o700, "/opt/"),
            d(0o710, "/opt/data/"),
            f(0o644, "note\n", "/opt/data/note"),
            d(0o751, "/usr/"),
            d(0o755, "/usr/lib/"),
            d(0o755, "/usr/lib/x86_64-linux-gnu/"),
            d(0o755, "/usr/share/"),
            d(0o755, "/usr/share/doc/"),
            f(0o644, "(c)\n", "/usr/share/doc/copyright"),
        ],
    );
}
