//! Names the commit the binary is built from, for `hookbox_build_info`: `HOOKBOX_COMMIT` when
//! the build sets it (a release pipeline, a source tarball), else what `git` says, else nothing
//! (the metric then says `unknown`).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=HOOKBOX_COMMIT");
    // A new commit moves HEAD or the branch it names: run again then (and only then).
    for path in [
        Some("HEAD".to_owned()),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    let commit = std::env::var("HOOKBOX_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    if let Some(commit) = commit {
        println!("cargo:rustc-env=HOOKBOX_COMMIT={commit}");
    }
}
