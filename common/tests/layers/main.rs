//! The workspace's layering: no two modules of a crate import each other. A loop means neither
//! module can be read, tested or moved without the other, which is what the crates were split
//! to avoid. The check reads every crate's `src/` and follows its `crate::` and `super::` paths
//! (outside comments and the `tests` module at a file's end). Siblings are compared at the
//! level where their paths part: `tickets/open.rs` importing `commands/setup.rs` counts as
//! `tickets` importing `commands`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// A module's path inside its crate: `["tickets", "open"]` for `src/tickets/open.rs`.
type ModPath = Vec<String>;

/// Every module of the crate whose sources are in `src`, with its code (see [`code_of`]).
fn modules(src: &Path) -> BTreeMap<ModPath, String> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: ModPath = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            // `mod.rs`, `lib.rs` and `main.rs` are their folder's (or the crate's) module.
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            // A binary under `src/bin/` is a crate of its own, importing the library by name.
            if parts.first().is_some_and(|first| first == "bin") {
                continue;
            }
            found.insert(parts, code_of(&fs::read_to_string(&path).unwrap()));
        }
    }
    found
}

/// A file's code without its comments and without the `tests` module it ends with.
fn code_of(source: &str) -> String {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    source
        .lines()
        .map(without_comment)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A line up to its `//` comment, if it has one (a `//` after a `:` is a URL's, not one).
fn without_comment(line: &str) -> &str {
    let mut from = 0;
    while let Some(at) = line[from..].find("//") {
        let at = from + at;
        if !line[..at].ends_with(':') {
            return &line[..at];
        }
        from = at + 2;
    }
    line
}

/// The paths `code` (the module at `me`) names through `crate::` or `super::`, grouped `use`
/// trees (`crate::{a::b, c::{d, e}}`) spelt out.
fn references(me: &[String], code: &str) -> BTreeSet<ModPath> {
    let mut found = BTreeSet::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(me))] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let preceded_by_ident = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[at + prefix.len()..];
            if !preceded_by_ident {
                use_tree(&base, rest, &mut found);
            }
        }
    }
    found
}

/// The parent of `me`: `super::` from `tickets/open.rs` is `tickets`.
fn parent(me: &[String]) -> ModPath {
    me[..me.len().saturating_sub(1)].to_vec()
}

/// Reads one use tree (or path) at the start of `text`, under `base`, into `found`; returns
/// how much of `text` it read.
fn use_tree(base: &[String], text: &str, found: &mut BTreeSet<ModPath>) -> usize {
    let mut path = base.to_vec();
    let mut read = 0;
    loop {
        read += blank(&text[read..]);
        let rest = &text[read..];
        if let Some(group) = rest.strip_prefix('{') {
            read += 1 + group_of(&path, group, found);
            return read;
        }
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident == "self" {
            read += ident.len();
            if !path.is_empty() {
                found.insert(path);
            }
            return read;
        }
        if ident.is_empty() {
            // A glob (`a::*`) names `a`.
            if rest.starts_with('*') {
                read += 1;
            }
            break;
        }
        read += ident.len();
        path.push(ident);
        match text[read..].strip_prefix("::") {
            Some(_) => read += 2,
            None => break,
        }
    }
    if path.len() > base.len() {
        found.insert(path);
    }
    read
}

/// Reads the items of a `{...}` group (after its `{`) under `base`; returns how much it read,
/// its `}` included.
fn group_of(base: &[String], text: &str, found: &mut BTreeSet<ModPath>) -> usize {
    let mut read = 0;
    loop {
        read += use_tree(base, &text[read..], found);
        read += blank(&text[read..]);
        // `a::B as C`: the new name is no path.
        if let Some(renamed) = text[read..].strip_prefix("as") {
            let after = blank(renamed);
            if after > 0 {
                let name = renamed[after..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .count();
                read += 2 + after + name;
                read += blank(&text[read..]);
            }
        }
        match text[read..].chars().next() {
            Some(',') => read += 1,
            Some('}') => return read + 1,
            // Anything unexpected: skip to the group's end.
            Some(_) => {
                let close = text[read..].find('}').map_or(text.len() - read, |i| i + 1);
                return read + close;
            }
            None => return read,
        }
    }
}

/// How many bytes of white space `text` starts with.
fn blank(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// The pairs of modules that import each other, each named at the level where their paths
/// part.
fn loops(modules: &BTreeMap<ModPath, String>) -> Vec<(String, String)> {
    let owner = |path: &ModPath| {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| modules.contains_key(prefix))
    };
    let mut imports = BTreeSet::new();
    for (me, code) in modules {
        for path in references(me, code) {
            let Some(them) = owner(&path) else { continue };
            // A module may name its own children and its ancestors.
            if them.starts_with(me) || me.starts_with(&them) {
                continue;
            }
            let common = me.iter().zip(&them).take_while(|(a, b)| a == b).count();
            imports.insert((me[..=common].join("/"), them[..=common].join("/")));
        }
    }
    imports
        .iter()
        .filter(|(a, b)| a < b && imports.contains(&(b.clone(), a.clone())))
        .cloned()
        .collect()
}

/// The source folders of the workspace's crates.
fn crates() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found: Vec<PathBuf> = fs::read_dir(&workspace)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file() && path.join("src").is_dir())
        .map(|path| path.join("src"))
        .collect();
    found.sort();
    found
}

#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let crates = crates();
    let names: Vec<String> = crates
        .iter()
        .map(|src| {
            src.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for expected in ["bot", "common", "relay-http", "relay-worker", "sandbox"] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} not found in {names:?}"
        );
    }
    for src in &crates {
        let modules = modules(src);
        assert!(modules.len() > 1, "{}: no modules read", src.display());
        let loops = loops(&modules);
        assert!(
            loops.is_empty(),
            "{}: modules importing each other: {loops:?}",
            src.display()
        );
    }
}

fn path(text: &str) -> ModPath {
    text.split('/').map(str::to_owned).collect()
}

fn crate_of(files: &[(&str, &str)]) -> BTreeMap<ModPath, String> {
    files
        .iter()
        .map(|(name, source)| (path(name), code_of(source)))
        .collect()
}

#[test]
fn a_loop_between_siblings_is_found_at_the_level_where_their_paths_part() {
    let modules = crate_of(&[
        ("tickets", "mod open;"),
        ("tickets/open", "use crate::commands::setup::names;\n"),
        ("commands", "mod setup;"),
        (
            "commands/setup",
            "use crate::{tickets::{open::{self, Opened}, close}};\n",
        ),
        ("tickets/close", ""),
    ]);
    assert_eq!(
        loops(&modules),
        [("commands".to_owned(), "tickets".to_owned())]
    );
}

#[test]
fn comments_tests_parents_children_and_one_way_imports_are_no_loop() {
    let modules = crate_of(&[
        (
            "a",
            "use crate::b::X; // crate::c::Y\n/// see [`crate::c`]\nuse super::d;\n",
        ),
        (
            "b",
            "fn f() { crate::a::g(); }\n#[cfg(test)]\nmod tests {\n use crate::a::inner; }\n",
        ),
        ("a/inner", "use super::h; use crate::a::X;"),
        ("c", "use crate::a::inner::Z;"),
    ]);
    let mut expected = BTreeSet::new();
    expected.insert(path("b/X"));
    expected.insert(path("d"));
    assert_eq!(references(&path("a"), &modules[&path("a")]), expected);
    // `a` and `b` import each other in code; only `b`'s test module names `a/inner`.
    assert_eq!(loops(&modules), [("a".to_owned(), "b".to_owned())]);
    let without_b_to_a = crate_of(&[
        ("a", "use crate::b::X;"),
        (
            "b",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n use crate::a::g; }\n",
        ),
        ("a/inner", "use super::h; use crate::a::X;"),
    ]);
    assert!(loops(&without_b_to_a).is_empty());
}

#[test]
fn grouped_and_renamed_use_trees_are_spelt_out() {
    let found = references(
        &path("x/y"),
        "use crate::{config::{Settings as S, Raw}, telemetry, ids::*};\nuse super::z::{self, W};",
    );
    let expected: BTreeSet<ModPath> = [
        "config/Settings",
        "config/Raw",
        "telemetry",
        "ids",
        "x/z",
        "x/z/W",
    ]
    .into_iter()
    .map(path)
    .collect();
    assert_eq!(found, expected);
}
