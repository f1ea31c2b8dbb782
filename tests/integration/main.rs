//! Integration tests: they run the kerf binary, one temporary directory per test.

mod bundled_no_copy;
mod bundled_release;
mod check;
mod cut_fixture;
mod draft;
mod examples;
mod explain;
mod extend_root;
mod first_run;
mod harness;
mod locked_cuts;
mod mutate_scripts;
mod oci_image;
mod release_commands;
mod scanner_roots;
mod todays_archives;
