//! The dependency rule of ARCHITECTURE.md "Layers", enforced: every `crate::` and `super::` path
//! in non-test code under `src/` is an edge between file modules, and
//! - no two file modules depend on each other, directly or around a loop;
//! - a top-level module only uses top-level modules of a lower layer.
//!
//! Plain text parsing is enough: the crate's code names other modules only through paths.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom; a module may use only modules of a higher number. Siblings on one layer are
/// independent of each other.
const LAYERS: &[(&str, u8)] = &[
    ("main", 7),
    ("commands", 6),
    ("app", 5),
    ("export", 5),
    ("cli", 5),
    ("ui", 4),
    ("router", 4),
    ("sources", 4),
    ("record", 4),
    ("terminal", 4),
    ("kube_client", 3),
    ("model", 2),
    ("action", 2),
    ("config", 1),
    ("domain", 0),
];

/// A module path (`ui::paint`) for every `.rs` file under `src/`; `lib.rs` is the root ("").
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts.join("::"), p);
        }
    }
    out
}

/// The file's text without comments and without `#[cfg(test)]` items (test code may reach
/// anywhere: it is not part of the product's dependency graph).
fn product_code(text: &str) -> String {
    let no_comments: String = text
        .lines()
        .map(|l| match l.find("//") {
            // `//` inside a string literal ("https://…") keeps the line; only comments go.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::with_capacity(no_comments.len());
    let mut rest = no_comments.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        // Skip the attributed item: up to its `;` or its balanced `{…}`.
        let mut depth = 0usize;
        let mut end = after.len();
        for (j, ch) in after.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every path the code names with `crate::` or `super::`, resolved to absolute segments.
fn named_paths(module: &str, is_mod_file: bool, code: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    // `super` from `a/b.rs` (module a::b) is `a`; from `a/b/mod.rs` (also a::b) it is `a` too.
    let _ = is_mod_file;
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let (base, skip) = if rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if rest.starts_with("super::") {
            let mut base = here.clone();
            let mut skip = 0;
            while code[i + skip..].starts_with("super::") {
                base.pop();
                skip += "super::".len();
            }
            (base, skip)
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        // Not part of a longer identifier (`my_crate::`).
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            i += skip;
            continue;
        }
        let tail = &code[i + skip..];
        expand(&base, tail, &mut out);
        i += skip;
    }
    out
}

/// `a::b::{c, d::e}` after a base → each full path (one level of braces is all the code uses
/// after `crate::`; deeper groups are expanded recursively).
fn expand(base: &[String], tail: &str, out: &mut Vec<Vec<String>>) {
    let mut segs = base.to_vec();
    let mut t = tail;
    loop {
        let ident: String = t
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            if let Some(group) = t.strip_prefix('{') {
                let mut depth = 1;
                let mut end = group.len();
                for (j, ch) in group.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = j;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let inner = &group[..end];
                let mut depth = 0;
                let mut start = 0;
                for (j, ch) in inner.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            expand(&segs, inner[start..j].trim(), out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                expand(&segs, inner[start..].trim(), out);
                return;
            }
            break;
        }
        t = &t[ident.len()..];
        if ident != "self" {
            segs.push(ident);
        }
        match t.strip_prefix("::") {
            Some(r) => t = r,
            None => break,
        }
    }
    out.push(segs);
}

fn resolve<'a>(path: &[String], mods: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].join("::"))
        .find_map(|c| mods.get_key_value(&c).map(|(k, _)| k.as_str()))
}

fn related(a: &str, b: &str) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.starts_with(&format!("{b}::"))
        || b.starts_with(&format!("{a}::"))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, file) in &mods {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Test-only files: `tests.rs` modules and the test fixture.
        if name == "tests.rs" || m.ends_with("::fixture") {
            continue;
        }
        let code = product_code(&std::fs::read_to_string(file).unwrap());
        for p in named_paths(m, name == "mod.rs", &code) {
            if let Some(to) = resolve(&p, &mods) {
                if to != m && !related(m, to) {
                    edges.entry(m.clone()).or_default().insert(to.to_string());
                }
            }
        }
    }
    edges
}

fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

fn layer(m: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == top(m)).map(|(_, l)| *l)
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let missing: BTreeSet<String> = modules(&src)
        .keys()
        .filter(|m| !m.is_empty() && layer(m).is_none())
        .map(|m| top(m).to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "add these modules to LAYERS here and to ARCHITECTURE.md \"Layers\": {missing:?}"
    );
}

#[test]
fn dependencies_point_down_the_layers() {
    let mut bad = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            if top(&from) == top(&to) {
                continue;
            }
            match (layer(&from), layer(&to)) {
                (Some(a), Some(b)) if a > b => {}
                (a, b) => bad.push(format!("{from} (layer {a:?}) -> {to} (layer {b:?})")),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "dependencies that point up or sideways (ARCHITECTURE.md \"Layers\"):\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_cycles_between_modules() {
    let edges = graph();
    // Tarjan's strongly connected components; any component of two or more is a cycle.
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        cycles: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.cycles.push(comp);
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    let report: Vec<String> = t
        .cycles
        .iter()
        .map(|c| {
            let detail: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    edges[*a]
                        .iter()
                        .filter(|b| c.contains(&b.as_str()))
                        .map(move |b| format!("  {a} -> {b}"))
                })
                .collect();
            format!("{}\n{}", c.join(" / "), detail.join("\n"))
        })
        .collect();
    assert!(report.is_empty(), "module cycles:\n{}", report.join("\n"));
}

#[test]
fn the_checker_sees_paths_and_cycles() {
    // The parser itself: grouped uses, `super::`, test code left out.
    let code = product_code(
        "use crate::a::{b, c::{d, e}};\nuse super::f::G;\n// crate::comment::x\n#[cfg(test)]\nmod tests { use crate::z; }\n",
    );
    let paths = named_paths("m::n", false, &code);
    let joined: BTreeSet<String> = paths.iter().map(|p| p.join("::")).collect();
    for want in ["a::b", "a::c::d", "a::c::e", "m::f::G"] {
        assert!(joined.contains(want), "{want} missing from {joined:?}");
    }
    assert!(!joined
        .iter()
        .any(|p| p.starts_with("z") || p.starts_with("comment")));
}
