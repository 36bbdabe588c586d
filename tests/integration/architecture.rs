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
    // Operator knobs with the environment as the default; read by billing and escalation, written by admin.
    "settings",
    "accounts",
    "billing",
    "notifications",
    "agents",
    "contacts",
    "family",
    // Connected calendars and their rules; weighed by reminders (preview) and escalation (engine, snooze phrases).
    "calendars",
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

/// `pub fn`s of a domain's service or store that may take two or more bare `Uuid`s, each with why. Empty: an
/// id of a kind the core names is passed as its typed id (`UserId`, `ReminderId`, …), so two ids cannot be
/// swapped at a call site without the compiler noticing.
const SEVERAL_BARE_UUIDS_ALLOWED: &[&str] = &[];

/// The parameter list of every `pub` fn in `code`, by name (signatures are read simply: from the `(` after
/// the name to its matching `)`).
fn pub_fn_parameters(code: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("pub") {
        if code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "pub".len()..];
        // `pub(crate) fn`, `pub async fn`, `pub const fn`…
        let rest = rest.strip_prefix("(crate)").or_else(|| rest.strip_prefix("(super)")).unwrap_or(rest).trim_start();
        let rest = ["async ", "const ", "unsafe "].iter().fold(rest, |r, prefix| r.strip_prefix(prefix).unwrap_or(r));
        let Some(rest) = rest.strip_prefix("fn ") else { continue };
        let name = identifier(rest);
        let Some(open) = rest.find('(') else { continue };
        let parameters = &rest[open + 1..];
        let end = top_level(parameters).find(|(_, ch)| *ch == ')').map_or(parameters.len(), |(i, _)| i);
        found.push((name, parameters[..end].to_owned()));
    }
    found
}

/// The characters of `text` outside any brackets, with their positions (`->` is not a bracket).
fn top_level(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut depth = 0i32;
    let mut previous = ' ';
    text.char_indices().filter(move |&(_, ch)| {
        let outside = depth == 0;
        match ch {
            '(' | '[' | '<' | '{' => depth += 1,
            '>' if previous == '-' => {}
            ')' | ']' | '>' | '}' => depth -= 1,
            _ => {}
        }
        previous = ch;
        outside
    })
}

/// How many of `parameters` are a bare `Uuid` (by value or by reference).
fn bare_uuids(parameters: &str) -> usize {
    let mut cuts: Vec<usize> = top_level(parameters).filter(|(_, ch)| *ch == ',').map(|(i, _)| i + 1).collect();
    cuts.insert(0, 0);
    cuts.push(parameters.len() + 1);
    cuts.windows(2)
        .filter_map(|cut| parameters.get(cut[0]..cut[1] - 1))
        .filter_map(|parameter| parameter.split_once(':'))
        .filter(|(_, ty)| matches!(ty.trim(), "Uuid" | "uuid::Uuid" | "&Uuid"))
        .count()
}

#[test]
fn no_service_or_store_function_takes_several_bare_uuids() {
    let src = app_src();
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let name = file.file_name().unwrap().to_string_lossy();
        if name != "service.rs" && name != "store.rs" {
            continue;
        }
        let relative = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        for (function, parameters) in pub_fn_parameters(&code_of(&std::fs::read_to_string(&file).unwrap())) {
            let qualified = format!("{relative}::{function}");
            if bare_uuids(&parameters) >= 2 && !SEVERAL_BARE_UUIDS_ALLOWED.contains(&qualified.as_str()) {
                offenders.push(qualified);
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "take typed ids (reminder_core::ids) instead of several bare `Uuid`s: {offenders:#?}"
    );
}

#[test]
fn the_bare_uuid_reader_counts_what_a_signature_takes() {
    let code = "pub async fn f(conn: &mut C, owner: Uuid, id: uuid::Uuid, ids: &[Uuid], map: HashMap<Uuid, Uuid>) {}
                fn private(a: Uuid, b: Uuid) {}
                pub(crate) fn g(a: &Uuid, gen: impl Fn(Uuid) -> i32, b: UserId) -> Uuid {}
                pub fn h(a: ReminderId, b: Uuid)";
    let found = pub_fn_parameters(code);
    let counted: Vec<(&str, usize)> = found.iter().map(|(name, p)| (name.as_str(), bare_uuids(p))).collect();
    assert_eq!(counted, [("f", 2), ("g", 1), ("h", 1)]);
}
