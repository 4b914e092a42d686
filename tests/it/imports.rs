//! Modules import each other one way only (DESIGN.md: main → cli → app → {http, worker} → store
//! → event; config and verify below). Read from the source's `crate::` and `super::` paths:
//! - the crate's top-level modules form no circle (`config` never reaches back into `store`);
//! - within a folder, sibling files form no circle (`mod.rs`, the folder's face, is left out).
//!
//! A circle fails the test naming its modules; reading text keeps it free of any tool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of `text` without comments (line comments and doc comments), so prose that names
/// a path is not read as an import.
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after each `prefix` in `code` (`crate::store::x` → `store`), including
/// those inside a braced group right after it (`super::{a, b::c}` → `a`, `b`).
fn segments_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `super::super::`, or part of a longer path
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(inner.split(',').map(|p| ident(p.trim())));
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|s| !s.is_empty() && s != "self");
    found
}

/// A circle in `edges`, if any (as the list of its nodes).
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        let mut path = Vec::new();
        // A node already finished cannot start a new circle; `visit` skips it.
        if let Some(found) = visit(node, edges, &mut path, &mut done) {
            return Some(found);
        }
    }
    None
}

#[test]
fn modules_import_each_other_one_way_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(
        files.len() > 50,
        "read the crate's sources: {}",
        files.len()
    );
    let top: BTreeSet<String> = (files.iter())
        .filter_map(|f| f.strip_prefix(&src).ok())
        .filter_map(|rel| rel.components().next())
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();

    let mut crate_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut sibling_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let Some(first) = rel.components().next() else {
            continue;
        };
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = code(&std::fs::read_to_string(file).expect("read"));
        for used in segments_after(&text, "crate::") {
            if used != module && top.contains(&used) {
                crate_edges.entry(module.clone()).or_default().insert(used);
            }
        }
        // Siblings: `super::x` from a file of a folder, when x is a file of that folder.
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        let folder = file.parent().expect("parent");
        if name.as_deref() == Some("mod") || folder == src {
            continue;
        }
        let node = |n: &str| format!("{}/{n}", folder.display());
        for used in segments_after(&text, "super::") {
            let sibling = folder.join(format!("{used}.rs"));
            let sibling_dir = folder.join(&used).join("mod.rs");
            if Some(used.as_str()) != name.as_deref() && (sibling.exists() || sibling_dir.exists())
            {
                let from = node(name.as_deref().unwrap_or("?"));
                sibling_edges.entry(from).or_default().insert(node(&used));
            }
        }
    }
    assert!(
        crate_edges.get("http").is_some_and(|e| e.contains("store")),
        "the graph is read: {crate_edges:?}"
    );
    if let Some(found) = circle(&crate_edges) {
        panic!("top-level modules import each other in a circle: {found:?}");
    }
    if let Some(found) = circle(&sibling_edges) {
        panic!("files of one folder import each other in a circle: {found:?}");
    }
}

#[test]
fn a_circle_is_found() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(circle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert!(circle(&edges).is_some_and(|c| c.len() == 3));
    let code = "use super::{status::x, routed};\nlet y = crate::store::Store::open();";
    assert_eq!(
        segments_after(code, "super::"),
        ["routed", "status"].map(String::from).into()
    );
    assert_eq!(
        segments_after(code, "crate::"),
        ["store"].map(String::from).into()
    );
}
