//! The dependency rules of ARCHITECTURE.md, checked on the source so they cannot quietly erode:
//! - the core crate depends on no I/O crate;
//! - the HTTP and database machinery knows no domain;
//! - modules depend on each other in one direction: [`LAYERS`] orders the app's top-level modules from the
//!   bottom up, and a module imports only modules below it. No upward edge means no cycle between modules
//!   (a cycle inside one module, between its own files, is not seen and is fine).
//!
//! An "import" is any `crate::<module>` path outside comments and `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The app's top-level modules from the bottom up: machinery first, then domains, then what composes them.
const LAYERS: &[&str] = &[
    // Machinery: knows no domain.
    "config",
    "cli",
    "clock",
    "crypto",
    "telemetry",
    "db",
    "redis_client",
    "rate_limiter",
    "mailer",
    "state",
    "http",
    // Domains, each importing only those above it in this list.
    "nlp",
    "accounts",
    "billing",
    "notifications",
    "agents",
    "contacts",
    "profiles",
    "reminders",
    // A new account's first steps: reads accounts, agents and reminders, creates through reminders.
    "onboarding",
    "escalation",
    // Changes that stop a reminder escalating: reminders + billing + escalation in one transaction.
    "stopping",
    "dispatch",
    "watchers",
    "privacy",
    "admin",
    "console",
    // Composition: mounts the domains and runs the roles.
    "api",
    "roles",
    "lib",
    "main",
];

/// Where the machinery ends in [`LAYERS`].
const LAST_MACHINERY: &str = "http";

/// What the core crate may depend on: no database, HTTP, Redis or runtime crate.
const CORE_DEPENDENCIES: &[&str] =
    &["chrono", "chrono-tz", "croner", "rand", "rrule", "serde", "serde_json", "thiserror", "uuid"];

fn app_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `module -> modules it imports`, for every top-level module of the app crate.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = app_src();
    let top: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let module = file.strip_prefix(&src).unwrap().components().next().unwrap();
        let module = module.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let imports = graph.entry(module.clone()).or_default();
        for target in crate_paths(&code) {
            if target != module && top.contains(&target) {
                imports.insert(target);
            }
        }
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// The file without its test module and without comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().map(|line| line.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// The top-level module of every `crate::…` path, including each branch of `use crate::{a::x, b}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut expecting_name = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expecting_name = true,
                    c if expecting_name && depth == 0 && (c.is_alphabetic() || c == '_') => {
                        found.push(identifier(&group[i..]));
                        expecting_name = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier(rest));
        }
    }
    found
}

fn identifier(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

fn layer(module: &str) -> usize {
    LAYERS.iter().position(|name| *name == module).unwrap_or_else(|| panic!("place `{module}` in LAYERS"))
}

/// Every import from a module to one at its own level or above, split by whether it leaves the machinery.
fn upward_edges(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut edges = BTreeSet::new();
    for (from, targets) in graph {
        for to in targets {
            if layer(to) >= layer(from) {
                edges.insert(format!("{from} -> {to}"));
            }
        }
    }
    edges
}

#[test]
fn the_core_crate_depends_on_no_io_crate() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/reminder-core/Cargo.toml")).unwrap();
    let dependencies = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
    for line in dependencies.lines().filter(|line| !line.trim().is_empty() && !line.starts_with('#')) {
        let name = line.split('=').next().unwrap().trim();
        let optional = line.contains("optional = true");
        assert!(
            optional || CORE_DEPENDENCIES.contains(&name),
            "reminder-core must stay pure: `{name}` is not on its list of allowed dependencies"
        );
    }
}

#[test]
fn the_machinery_knows_no_domain() {
    let graph = import_graph();
    let machinery = layer(LAST_MACHINERY);
    let wrong: Vec<_> = upward_edges(&graph)
        .into_iter()
        .filter(|edge| edge.split(" -> ").next().is_some_and(|from| layer(from) <= machinery))
        .collect();
    assert!(wrong.is_empty(), "machinery importing a domain (or against the order of LAYERS): {wrong:#?}");
}

#[test]
fn modules_depend_on_each_other_in_one_direction() {
    let upward: Vec<_> = upward_edges(&import_graph()).into_iter().collect();
    assert!(upward.is_empty(), "imports against the order of LAYERS: {upward:#?}");
}

/// The same rule seen from the other side, independent of the order in [`LAYERS`]: walking the import graph
/// of the top-level modules finds no cycle (so none spans more than one module).
#[test]
fn the_import_graph_has_no_cycle_between_modules() {
    fn visit<'g>(
        module: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
    ) {
        if let Some(at) = path.iter().position(|m| *m == module) {
            panic!("an import cycle between modules: {}", [&path[at..], &[module]].concat().join(" -> "));
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    let graph = import_graph();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}
