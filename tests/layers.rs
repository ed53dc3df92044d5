//! The project's layering rules (the style guide, "For this project"),
//! checked on the source text of every `src/**/*.rs`:
//!
//! * imports point down only: `cmd → poll → ops → dm, system → metadata`;
//!   `dm` and `system` are siblings and do not refer to each other;
//!   `report` is used by `cmd` only (`LAYERS`, `ONLY_USED_BY`);
//! * the modules of one folder do not refer to each other in a circle.
//!
//! A reference is any `crate::…` or `super::…` path in code, `use` lines or
//! not (use-groups such as `crate::dm::{plan, tree::Node}` count each
//! member), resolved to the longest module path that exists as a file.
//! Comments, string and char literals do not count. `#[cfg(test)]` items
//! are left out, and so are whole files declared `#[cfg(test)] mod x;`:
//! test code may reach anywhere. `src/main.rs` and `src/lib.rs` are exempt.
//!
//! Known blind spots: a path that names an item `mod.rs` re-exports
//! (`super::Thing`) counts as a reference to the folder's `mod.rs`, not
//! to the file that defines the item; only `#[cfg(test)]` spelled exactly
//! so marks test code; bare paths that start from a name brought in by
//! `use` are covered by that `use` line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level folders and their rank, bottom up. A module may refer to
/// modules of a strictly lower rank only; equal ranks are siblings.
/// A new top-level module must be placed here.
const LAYERS: &[(&str, u32)] = &[
    ("metadata", 0),
    ("system", 10),
    ("dm", 10),
    ("ops", 20),
    ("poll", 30),
    ("report", 35),
    ("cmd", 40),
];

/// Folders that only the listed folders may use, whatever their rank.
const ONLY_USED_BY: &[(&str, &[&str])] = &[("report", &["cmd"])];

/// References between `src/cmd` files that form circles today (from, to):
/// to be emptied by the ops refactor. Never add to it; a circle that uses
/// any other reference fails, and an entry no longer in a circle must go.
const ALLOWED_CMD_CIRCLE_EDGES: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------
// Source text: comments and literals blanked, test code removed.

/// `src` with comments and the contents of string and char literals
/// replaced by spaces; newlines are kept so line numbers stay right.
fn blank_comments_and_literals(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(c.len());
    let blank = |out: &mut Vec<char>, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.extend([' ', ' ']);
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.extend([' ', ' ']);
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if (c[i] == 'r' || (c[i] == 'b' && at(i + 1) == 'r'))
            && (i == 0 || !is_ident(c[i - 1]))
            && {
                let mut k = i + if c[i] == 'b' { 2 } else { 1 };
                while at(k) == '#' {
                    k += 1;
                }
                at(k) == '"'
            }
        {
            // Raw string: r"…", r#"…"#, br"…".
            let mut k = i + if c[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while at(k) == '#' {
                hashes += 1;
                k += 1;
            }
            out.extend(std::iter::repeat_n(' ', k + 1 - i));
            i = k + 1;
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && (at(i + 1) == '\\' || (at(i + 1) != '\'' && at(i + 2) == '\'')) {
            // A char literal ('x', '\n', '\u{1F600}'); a lifetime or label
            // ('a) has no closing quote and is kept.
            out.push(' ');
            i += 1;
            if c[i] == '\\' {
                // The backslash and the escaped character ('\'' included).
                out.extend([' ', ' ']);
                i += 2;
            }
            while i < c.len() && c[i] != '\'' {
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// Blanks every `#[cfg(test)]` item (the attribute, any further attributes
/// and the item up to its `;` or closing brace) in blanked source. Returns
/// the new text and the names of `#[cfg(test)] mod name;` file modules.
fn remove_test_items(code: &str) -> (String, Vec<String>) {
    const ATTR: &str = "#[cfg(test)]";
    let mut c: Vec<char> = code.chars().collect();
    let mut test_mods = Vec::new();
    let text = |c: &[char], a: usize, b: usize| c[a..b].iter().collect::<String>();
    let mut from = 0;
    while let Some(pos) = text(&c, from, c.len()).find(ATTR) {
        let start = from + text(&c, from, c.len())[..pos].chars().count();
        let mut i = start + ATTR.chars().count();
        let skip_ws = |c: &[char], mut i: usize| {
            while i < c.len() && c[i].is_whitespace() {
                i += 1;
            }
            i
        };
        // Further attributes on the same item.
        loop {
            i = skip_ws(&c, i);
            if c.get(i) == Some(&'#') && c.get(i + 1) == Some(&'[') {
                let mut depth = 0;
                while i < c.len() {
                    match c[i] {
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            } else {
                break;
            }
        }
        let item_start = i;
        let mut depth = 0i32;
        while i < c.len() {
            match c[i] {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => {
                    i += 1;
                    break;
                }
                '{' if depth == 0 => {
                    let mut braces = 0;
                    while i < c.len() {
                        match c[i] {
                            '{' => braces += 1,
                            '}' => {
                                braces -= 1;
                                if braces == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let end = i.min(c.len());
        let item = text(&c, item_start, end);
        let words: Vec<&str> = item
            .split(|ch: char| ch.is_whitespace() || ch == ';')
            .filter(|w| !w.is_empty())
            .collect();
        if let [.., "mod", name] = words.as_slice() {
            if item.trim_end().ends_with(';') {
                test_mods.push(name.to_string());
            }
        }
        for ch in &mut c[start..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        from = end;
    }
    (c.into_iter().collect(), test_mods)
}

// ---------------------------------------------------------------------------
// Tokens and paths.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

fn tokenize(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Ident(c[s..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push((Tok::PathSep, line));
            i += 2;
        } else {
            toks.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    toks
}

/// Parses the rest of a path after `prefix` at `toks[i]` (which follows
/// a `::`): segments, use-groups `{a, b::c, self}`, `*`. Pushes every full
/// path found; returns the index after the path.
fn parse_path_rest(
    toks: &[(Tok, usize)],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix;
    loop {
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(s)) if s == "self" => {
                i += 1;
                break;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.0) {
                        None => return i,
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(Tok::Ident(s)) if s == "as" => i += 2,
                        _ => {
                            let end = parse_path_rest(toks, i, path.clone(), out);
                            i = end.max(i + 1);
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                i += 1;
                break;
            }
            _ => break,
        }
        if toks.get(i).map(|t| &t.0) == Some(&Tok::PathSep) {
            i += 1;
        } else {
            break;
        }
    }
    out.push(path);
    i
}

/// Every `crate::` / `super::` path in `code` (blanked, test items
/// removed) of module `module`, absolute, with its line.
fn references(code: &str, module: &[String]) -> Vec<(Vec<String>, usize)> {
    let toks = tokenize(code);
    let mut refs = Vec::new();
    // Inline (non-test) `mod name { … }` blocks move `super`.
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = &toks[i];
        let next = |k: usize| toks.get(i + k).map(|t| &t.0);
        match tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(m) if m == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) = (next(1), next(2)) {
                    inline.push((name.clone(), depth));
                }
            }
            Tok::Ident(root)
                if (root == "crate" || root == "super") && next(1) == Some(&Tok::PathSep) =>
            {
                let preceded_by_sep = i > 0 && toks[i - 1].0 == Tok::PathSep;
                if !preceded_by_sep {
                    let mut base: Vec<String> = if root == "crate" {
                        Vec::new()
                    } else {
                        let mut here: Vec<String> = module.to_vec();
                        here.extend(inline.iter().map(|(n, _)| n.clone()));
                        here.pop();
                        here
                    };
                    let mut k = i + 2;
                    while toks.get(k).map(|t| &t.0) == Some(&Tok::Ident("super".into()))
                        && toks.get(k + 1).map(|t| &t.0) == Some(&Tok::PathSep)
                    {
                        base.pop();
                        k += 2;
                    }
                    let mut paths = Vec::new();
                    let end = parse_path_rest(&toks, k, base, &mut paths);
                    refs.extend(paths.into_iter().map(|p| (p, *line)));
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    refs
}

// ---------------------------------------------------------------------------
// The source tree.

struct SourceFile {
    /// `src/dm/plan.rs`
    rel: String,
    module: Vec<String>,
    code: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every module file under src/ except main.rs, lib.rs and test-only
/// files, with test items removed.
fn load() -> Vec<SourceFile> {
    let src = src_dir();
    let mut paths = Vec::new();
    rs_files(&src, &mut paths);
    paths.sort();
    let mut files = Vec::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    for p in paths {
        let rel = p.strip_prefix(&src).unwrap();
        let mut module: Vec<String> = rel
            .parent()
            .into_iter()
            .flat_map(|d| d.components())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let stem = rel.file_stem().unwrap().to_string_lossy().into_owned();
        if module.is_empty() && (stem == "main" || stem == "lib") {
            continue;
        }
        if stem != "mod" {
            module.push(stem);
        }
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let (code, tests) = remove_test_items(&blank_comments_and_literals(&text));
        for t in tests {
            // `mod x;` in src/a/mod.rs or src/a.rs is module a::x alike.
            let mut m = module.clone();
            m.push(t);
            test_only.insert(m);
        }
        files.push(SourceFile {
            rel: format!("src/{}", rel.display()),
            module,
            code,
        });
    }
    files.retain(|f| !test_only.contains(&f.module));
    files
}

fn name(m: &[String]) -> String {
    m.join("::")
}

/// One reference between two modules: where it is written.
#[derive(Clone, Debug)]
struct Edge {
    from: Vec<String>,
    to: Vec<String>,
    at: String,
}

/// References between modules (the longest existing module prefix of each
/// path), without references to a module's own ancestors or itself.
fn edges(files: &[SourceFile]) -> Vec<Edge> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let mut out = Vec::new();
    for f in files {
        for (path, line) in references(&f.code, &f.module) {
            let Some(to) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            if f.module.starts_with(&to) {
                continue;
            }
            out.push(Edge {
                from: f.module.clone(),
                to,
                at: format!("{}:{line}", f.rel),
            });
        }
    }
    out
}

fn rank(top: &str) -> Option<u32> {
    LAYERS.iter().find(|(n, _)| *n == top).map(|(_, r)| *r)
}

/// Cross-folder references that point up or sideways, or use a folder
/// reserved for others.
fn layer_violations(edges: &[Edge]) -> Vec<String> {
    let mut out = Vec::new();
    let order = "cmd → poll → ops → dm, system → metadata; report is used by cmd only";
    for e in edges {
        let (from, to) = (&e.from[0], e.to.first());
        let Some(to) = to else { continue };
        if from == to {
            continue;
        }
        let (Some(rf), Some(rt)) = (rank(from), rank(to)) else {
            continue; // reported by every_folder_has_a_layer
        };
        if let Some((_, users)) = ONLY_USED_BY.iter().find(|(n, _)| n == to) {
            if !users.contains(&from.as_str()) {
                out.push(format!(
                    "{}: {} refers to {}, which only {} may use ({order})",
                    e.at,
                    name(&e.from),
                    name(&e.to),
                    users.join(", ")
                ));
                continue;
            }
        }
        if rt >= rf {
            let how = if rt == rf {
                "a sibling layer"
            } else {
                "a higher layer"
            };
            out.push(format!(
                "{}: {} refers to {}, {how} (imports point down only: {order})",
                e.at,
                name(&e.from),
                name(&e.to)
            ));
        }
    }
    out
}

/// Per folder, references between its child modules: folder → (a → b → first place).
type FolderGraphs = BTreeMap<Vec<String>, BTreeMap<(String, String), String>>;

fn folder_graphs(edges: &[Edge]) -> FolderGraphs {
    let mut g: FolderGraphs = BTreeMap::new();
    for e in edges {
        let common = e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
        if common == 0 || common >= e.to.len() || common >= e.from.len() {
            continue; // across top-level folders, or parent → child
        }
        g.entry(e.from[..common].to_vec())
            .or_default()
            .entry((e.from[common].clone(), e.to[common].clone()))
            .or_insert_with(|| e.at.clone());
    }
    g
}

/// Strongly connected components with more than one member (Tarjan).
fn circles(edges: &BTreeMap<(String, String), String>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let nodes: Vec<&String> = nodes.into_iter().collect();
    let idx = |n: &String| nodes.iter().position(|m| *m == n).unwrap();
    let mut succ = vec![Vec::new(); nodes.len()];
    for (a, b) in edges.keys() {
        succ[idx(a)].push(idx(b));
    }
    struct T<'a> {
        succ: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in &t.succ[v].clone() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            t.out.push(comp);
        }
    }
    let n = nodes.len();
    let mut t = T {
        succ: &succ,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| c.into_iter().map(|i| nodes[i].clone()).collect())
        .collect()
}

fn allowed(folder: &[String], a: &str, b: &str) -> bool {
    let (fa, fb) = (
        format!("{}::{a}", name(folder)),
        format!("{}::{b}", name(folder)),
    );
    ALLOWED_CMD_CIRCLE_EDGES
        .iter()
        .any(|(x, y)| *x == fa && *y == fb)
}

/// Circles inside a folder, each with the references that close it; the
/// references in `ALLOWED_CMD_CIRCLE_EDGES` are tolerated.
fn circle_violations(graphs: &FolderGraphs) -> Vec<String> {
    let mut out = Vec::new();
    for (folder, g) in graphs {
        for comp in circles(g) {
            let inside: Vec<(&(String, String), &String)> = g
                .iter()
                .filter(|((a, b), _)| comp.contains(a) && comp.contains(b))
                .collect();
            if inside.iter().all(|((a, b), _)| allowed(folder, a, b)) {
                continue;
            }
            let list: Vec<String> = inside
                .iter()
                .map(|((a, b), at)| {
                    let mark = if allowed(folder, a, b) {
                        " (allowed)"
                    } else {
                        ""
                    };
                    format!("    {a} → {b}  ({at}){mark}")
                })
                .collect();
            out.push(format!(
                "src/{}/: {} refer to each other in a circle:\n{}",
                folder.join("/"),
                comp.iter().cloned().collect::<Vec<_>>().join(", "),
                list.join("\n")
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The checks.

#[test]
fn every_folder_has_a_layer() {
    let tops: BTreeSet<String> = load().into_iter().map(|f| f.module[0].clone()).collect();
    let unknown: Vec<&String> = tops.iter().filter(|t| rank(t).is_none()).collect();
    assert!(
        unknown.is_empty(),
        "src/{{{}}} not placed in a layer: add to LAYERS in tests/layers.rs",
        unknown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn imports_point_down_only() {
    let v = layer_violations(&edges(&load()));
    assert!(
        v.is_empty(),
        "{} layer violation(s):\n{}",
        v.len(),
        v.join("\n")
    );
}

#[test]
fn no_folder_imports_itself_in_a_circle() {
    let v = circle_violations(&folder_graphs(&edges(&load())));
    assert!(v.is_empty(), "{} circle(s):\n{}", v.len(), v.join("\n"));
}

/// The allow-list only shrinks: an entry that is no longer a reference
/// inside a circle must be deleted.
#[test]
fn allowed_circle_edges_are_still_needed() {
    let graphs = folder_graphs(&edges(&load()));
    let mut needed = BTreeSet::new();
    for (folder, g) in &graphs {
        for comp in circles(g) {
            for (a, b) in g.keys() {
                if comp.contains(a) && comp.contains(b) {
                    needed.insert((
                        format!("{}::{a}", name(folder)),
                        format!("{}::{b}", name(folder)),
                    ));
                }
            }
        }
    }
    let stale: Vec<String> = ALLOWED_CMD_CIRCLE_EDGES
        .iter()
        .filter(|(a, b)| !needed.contains(&(a.to_string(), b.to_string())))
        .map(|(a, b)| format!("    (\"{a}\", \"{b}\")"))
        .collect();
    assert!(
        stale.is_empty(),
        "no longer part of a circle: delete from ALLOWED_CMD_CIRCLE_EDGES in tests/layers.rs:\n{}",
        stale.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The scanner itself.

fn refs_of(src: &str, module: &[&str]) -> Vec<String> {
    let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
    let (code, _) = remove_test_items(&blank_comments_and_literals(src));
    references(&code, &module)
        .into_iter()
        .map(|(p, _)| name(&p))
        .collect()
}

#[test]
fn scanner_reads_paths_in_code_and_use_groups() {
    let src = r#"
use super::names::{self, dm_name};
use crate::metadata::{id::Id, model::{Lv, Vg}};
use super::super::x::*;
pub(crate) fn f<'a>(s: &'a str) -> char {
    let _ = crate::dm::plan::format_plan(&[]);
    'x'
}
"#;
    assert_eq!(
        refs_of(src, &["dm", "tree"]),
        [
            "dm::names",
            "dm::names::dm_name",
            "metadata::id::Id",
            "metadata::model::Lv",
            "metadata::model::Vg",
            "x",
            "dm::plan::format_plan",
        ]
    );
}

#[test]
fn scanner_skips_comments_literals_and_test_code() {
    let src = r##"
// use crate::cmd::a;
/* crate::cmd::b /* nested crate::cmd::c */ crate::cmd::d */
/// Doc: crate::cmd::e
const S: &str = "crate::cmd::f \" crate::cmd::g";
const R: &str = r#"crate::cmd::h "quoted" "#;
const Q: char = '"';
const E: char = '\'';
#[cfg(test)]
mod tests {
    use crate::cmd::i;
    fn g() { if true { crate::cmd::j(); } }
}
#[cfg(test)]
#[allow(dead_code)]
fn helper() -> [u8; 2] { crate::cmd::k(); [0; 2] }
#[cfg(test)]
mod plan_tests;
fn after() { crate::dm::plan::x(); }
"##;
    assert_eq!(refs_of(src, &["dm", "exec"]), ["dm::plan::x"]);
    let (_, tests) = remove_test_items(&blank_comments_and_literals(src));
    assert_eq!(tests, ["plan_tests"]);
}

#[test]
fn scanner_moves_super_in_inline_modules() {
    let src = "mod inner { use super::sibling; }\nuse super::other;";
    assert_eq!(
        refs_of(src, &["dm", "plan"]),
        ["dm::plan::sibling", "dm::other"]
    );
}

#[test]
fn circles_are_found_per_folder() {
    let e = |a: &str, b: &str| Edge {
        from: a.split("::").map(String::from).collect(),
        to: b.split("::").map(String::from).collect(),
        at: "x".into(),
    };
    let g = folder_graphs(&[
        e("dm::plan", "dm::tree"),
        e("dm::tree", "dm::plan"),
        e("dm::plan", "dm::names"),
        e("dm::plan", "metadata::model"),
        e("dm", "dm::plan"),
    ]);
    let v = circle_violations(&g);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("plan → tree") && v[0].contains("tree → plan"),
        "{}",
        v[0]
    );
    let up = layer_violations(&[
        e("metadata::text", "dm::plan"),
        e("ops::x", "report::y"),
        e("dm::a", "system::b"),
    ]);
    assert_eq!(up.len(), 3, "{up:?}");
}
