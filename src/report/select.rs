//! The `-S|--select` language of LVM2's reports (`man lvmreport`,
//! "Selection"; libdm's `dm_report_init_with_selection` is the reference
//! for its rules, restated here): parsed once per command into a
//! [`Selection`], then tested against each row. Pure; no I/O.
//!
//! API for the report commands and, later, for commands that take
//! `--select` to choose what they act on (lvchange, vgchange, lvremove,
//! vgremove):
//!
//! ```ignore
//! let sel = Selection::parse("lv_size>8m && tags=lv_tag1", ReportType::Lvs)?;
//! // Whole records (what commands acting on a selection want):
//! let keep: Vec<bool> = report::selected_lvs(&lv_records, &sel)?; // PV fields: Err
//! let keep = report::selected_vgs(&vg_records, &pv_records, &lv_records, &sel);
//! let keep = report::selected_pvs(&pv_records, &lv_records, &sel);
//! // Or one row of values at a time:
//! let hit = sel.matches(&mut |field| values::lv_value(field.id, ...));
//! ```
//!
//! Field names resolve for the report type first, then among every
//! object's fields: a VG is selected by its LVs' or PVs' fields when one
//! of them matches (`report::join`), as LVM2 does.
//!
//! Grammar: `a || b` (or `#`) binds weaker than `a && b` (or `,`);
//! `!( ... )` negates a group; a term is `field op value` with `op` one of
//! `= != < <= > >= =~ !~`. Values are strings (quoted with `"` or `'`, or
//! bare), regular expressions (after `=~`/`!~`), numbers, sizes with a
//! unit letter (MiB without one), percents (`50`, `50%`), string lists
//! (`[a && b]` the exact set, `[a || b]` any of them, `{a && b}` a subset,
//! `{a || b}` any of them; a bare string is a one-item subset), and the
//! reserved names LVM2 knows (`undefined`, `unknown`, `undef` and `-1` for
//! an unset number, `auto` read-ahead, `unmanaged` metadata copies, the
//! word a binary field prints).

use regex::Regex;

use super::fields::{resolve_select, FieldDef, Kind, ReportType};
use super::values::{Cell, SortKey};

/// Why a selection could not be parsed, each in LVM2's words (the lines it
/// prints; the caller prints them as one error and exits 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("Expecting field name\n  {}", at(.0))]
    ExpectingField(String),
    #[error("Unrecognised selection field: {field}\n  {}", at(.rest))]
    UnknownField { field: String, rest: String },
    #[error("Expecting logical operator\n  {}", at(.0))]
    ExpectingLogicalOp(String),
    #[error("Missing operator\n  {}", at(.0))]
    MissingOperator(String),
    #[error("Operator can be used only with number, size, time or percent fields: {term}\n  {}", at(.term))]
    OrderOnString { term: String },
    #[error("Syntax error: left parenthesis expected at '{0}'")]
    LeftParen(String),
    #[error("Syntax error: right parenthesis expected at '{0}'")]
    RightParen(String),
    #[error("Failed to parse numeric value for selection field {field}.\n  {}", at(.rest))]
    BadNumber { field: String, rest: String },
    #[error("Numeric value {0} found in selection is reserved.")]
    ReservedNumber(String),
    #[error("Field selection value {value} out of supported range for field {field}.")]
    OutOfRange { value: String, field: String },
    #[error("Only one type of logical operator allowed in selection list at a time.\n  Failed to parse string list value for selection field {field}.\n  {}", at(.rest))]
    MixedListOperators { field: String, rest: String },
    #[error("Failed to parse string list value for selection field {field}.\n  {}", at(.rest))]
    BadList { field: String, rest: String },
    #[error("dm_report: incompatible comparison type for selection field {0}")]
    IncompatibleComparison(String),
    #[error("Incorrect date format.\n  Failed to parse time value for selection field {field}.\n  {}", at(.rest))]
    BadTime { field: String, rest: String },
    #[error(
        "Couldn't parse regex\n  dm_report: failed to create regex matcher for selection field {0}"
    )]
    BadRegex(String),
    #[error("Failed to parse value for selection field {field}.\n  {}", at(.rest))]
    BadValue { field: String, rest: String },
}

/// The two lines LVM2 closes a syntax error with.
fn at(rest: &str) -> String {
    format!("Selection syntax error at '{rest}'.\n  Use 'help' for selection to get more help.")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    NoMatch,
}

#[derive(Clone, Debug)]
enum Operand {
    Str(String),
    Regex(Regex),
    /// A number in the field's own unit (sectors for sizes).
    Num(f64),
    /// LVM2's reserved "undefined" value of a number or size field.
    Undef,
    /// A string list: its items, whether all must match (`&&`) or any
    /// (`||`), and whether the set must be exactly these (`[ ]`).
    List {
        items: Vec<String>,
        all: bool,
        exact: bool,
    },
}

#[derive(Clone, Debug)]
struct Cmp {
    field: &'static FieldDef,
    op: Op,
    value: Operand,
}

#[derive(Clone, Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cmp(Cmp),
}

/// A parsed selection.
#[derive(Clone, Debug)]
pub struct Selection {
    root: Node,
}

impl Selection {
    /// Parses `text` for a report of type `rt` (field names resolve as in
    /// `-o`). An empty selection selects every row.
    pub fn parse(text: &str, rt: ReportType) -> Result<Selection, SelectError> {
        let mut p = Parser {
            s: text,
            pos: 0,
            rt,
        };
        p.ws();
        if p.rest().is_empty() {
            return Ok(Selection {
                root: Node::And(vec![]),
            });
        }
        let root = p.or_ex()?;
        p.ws();
        if !p.rest().is_empty() {
            return Err(SelectError::ExpectingLogicalOp(p.rest().to_string()));
        }
        Ok(Selection { root })
    }

    /// The fields the selection reads (each once).
    pub fn fields(&self) -> Vec<&'static FieldDef> {
        fn walk(n: &Node, out: &mut Vec<&'static FieldDef>) {
            match n {
                Node::And(v) | Node::Or(v) => v.iter().for_each(|c| walk(c, out)),
                Node::Not(c) => walk(c, out),
                Node::Cmp(c) => {
                    if !out.iter().any(|f| std::ptr::eq(*f, c.field)) {
                        out.push(c.field)
                    }
                }
            }
        }
        let mut out = vec![];
        walk(&self.root, &mut out);
        out
    }

    /// Whether the row whose field values `value` gives is selected.
    pub fn matches<'c>(&self, value: &mut dyn FnMut(&'static FieldDef) -> Cell<'c>) -> bool {
        eval(&self.root, value)
    }
}

fn eval<'c>(n: &Node, value: &mut dyn FnMut(&'static FieldDef) -> Cell<'c>) -> bool {
    match n {
        Node::And(v) => v.iter().all(|c| eval(c, value)),
        Node::Or(v) => v.iter().any(|c| eval(c, value)),
        Node::Not(c) => !eval(c, value),
        Node::Cmp(c) => compare(c, &value(c.field)),
    }
}

/// Tolerance for comparing sizes given as decimals (`0.0078125g`).
fn same_num(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn order(op: Op, a: f64, b: f64) -> bool {
    match op {
        Op::Eq => same_num(a, b),
        Op::Ne => !same_num(a, b),
        Op::Lt => a < b && !same_num(a, b),
        Op::Le => a < b || same_num(a, b),
        Op::Gt => a > b && !same_num(a, b),
        Op::Ge => a > b || same_num(a, b),
        Op::Match | Op::NoMatch => false,
    }
}

fn list_items(text: &str) -> Vec<&str> {
    text.split(',').filter(|s| !s.is_empty()).collect()
}

fn compare(c: &Cmp, cell: &Cell<'_>) -> bool {
    match (&c.value, c.field.kind) {
        (Operand::Regex(re), _) => re.is_match(&cell.text) == (c.op == Op::Match),
        (Operand::Str(s), Kind::StrList) => {
            let items = list_items(&cell.text);
            // A bare string is a one-item subset; "" is the empty list.
            let hit = if s.is_empty() {
                items.is_empty()
            } else {
                items.contains(&s.as_str())
            };
            hit == (c.op == Op::Eq)
        }
        (Operand::Str(s), _) => (cell.text == *s) == (c.op == Op::Eq),
        (Operand::List { items, all, exact }, Kind::StrList) => {
            let have = list_items(&cell.text);
            let hit = if items.is_empty() {
                have.is_empty()
            } else if *all {
                items.iter().all(|i| have.contains(&i.as_str()))
                    && (!exact || have.iter().all(|h| items.iter().any(|i| i == h)))
            } else {
                items.iter().any(|i| have.contains(&i.as_str()))
            };
            hit == (c.op == Op::Eq)
        }
        (Operand::List { .. }, _) => false,
        (Operand::Num(want), kind) => match cell.sort {
            SortKey::Num(have) => {
                // An unset value (blank percent; -1, `auto`, `unmanaged`
                // elsewhere) takes part only in = and != against numbers,
                // and a blank percent in nothing (LVM2 2.03.16).
                if have < 0.0 {
                    kind != Kind::Pct && c.op == Op::Ne
                } else {
                    order(c.op, have, *want)
                }
            }
            SortKey::Str(_) | SortKey::Text => false,
        },
        (Operand::Undef, _) => {
            let undef = matches!(cell.sort, SortKey::Num(v) if v < 0.0);
            match c.op {
                Op::Eq => undef,
                Op::Ne => !undef,
                _ => false,
            }
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    rt: ReportType,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }
    fn eat(&mut self, tok: &str) -> bool {
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }
    fn or_op(&mut self) -> bool {
        self.ws();
        self.eat("||") || self.eat("#")
    }
    fn and_op(&mut self) -> bool {
        self.ws();
        self.eat("&&") || self.eat(",")
    }

    fn or_ex(&mut self) -> Result<Node, SelectError> {
        let mut v = vec![self.and_ex()?];
        while self.or_op() {
            v.push(self.and_ex()?);
        }
        Ok(if v.len() == 1 {
            v.pop().expect("one")
        } else {
            Node::Or(v)
        })
    }

    fn and_ex(&mut self) -> Result<Node, SelectError> {
        let mut v = vec![self.ex()?];
        while self.and_op() {
            v.push(self.ex()?);
        }
        Ok(if v.len() == 1 {
            v.pop().expect("one")
        } else {
            Node::And(v)
        })
    }

    fn ex(&mut self) -> Result<Node, SelectError> {
        self.ws();
        if self.eat("!") {
            let after = self.rest();
            self.ws();
            if !self.eat("(") {
                return Err(SelectError::LeftParen(after.to_string()));
            }
            let inner = self.group()?;
            return Ok(Node::Not(Box::new(inner)));
        }
        if self.eat("(") {
            return self.group();
        }
        let n = self.term()?;
        // Anything but a logical operator, `)` or the end after a term.
        self.ws();
        let r = self.rest();
        if !(r.is_empty()
            || r.starts_with("&&")
            || r.starts_with("||")
            || r.starts_with([',', '#', ')']))
        {
            return Err(SelectError::ExpectingLogicalOp(r.to_string()));
        }
        Ok(n)
    }

    /// The inside of `( ... )`, the `(` already read.
    fn group(&mut self) -> Result<Node, SelectError> {
        let n = self.or_ex()?;
        self.ws();
        if !self.eat(")") {
            return Err(SelectError::RightParen(self.rest().to_string()));
        }
        Ok(n)
    }

    fn term(&mut self) -> Result<Node, SelectError> {
        self.ws();
        let start = self.rest();
        let name_len = start
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(start.len());
        if name_len == 0 {
            return Err(SelectError::ExpectingField(start.to_string()));
        }
        let name = &start[..name_len];
        let field = resolve_select(name, self.rt).map_err(|_| SelectError::UnknownField {
            field: name.to_string(),
            rest: start.to_string(),
        })?;
        self.pos += name_len;
        self.ws();
        let op = [
            ("=~", Op::Match),
            ("!~", Op::NoMatch),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find(|(t, _)| self.rest().starts_with(t));
        let Some((tok, op)) = op else {
            return Err(SelectError::MissingOperator(start.to_string()));
        };
        self.pos += tok.len();
        self.ws();
        let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        let numeric = matches!(field.kind, Kind::Num | Kind::Size | Kind::Pct | Kind::Bin);
        if ordered && !numeric && field.kind != Kind::Time {
            return Err(SelectError::OrderOnString {
                term: start.to_string(),
            });
        }
        let regex = matches!(op, Op::Match | Op::NoMatch);
        if regex && field.kind == Kind::StrList {
            return Err(SelectError::IncompatibleComparison(field.id.to_string()));
        }
        let value = if regex {
            let pat = self.word(true);
            Operand::Regex(
                Regex::new(&pat).map_err(|_| SelectError::BadRegex(field.id.to_string()))?,
            )
        } else if field.kind == Kind::StrList
            && (self.rest().starts_with('[') || self.rest().starts_with('{'))
        {
            self.list(field, start)?
        } else if field.kind == Kind::Time {
            return Err(SelectError::BadTime {
                field: field.id.to_string(),
                rest: start.to_string(),
            });
        } else {
            let quoted = self.rest().starts_with(['"', '\'']);
            let w = self.word(false);
            typed_value(field, &w, quoted, start)?
        };
        Ok(Node::Cmp(Cmp { field, op, value }))
    }

    /// A value: quoted (`"..."`, `'...'`) or bare up to a space, `)`, or
    /// a logical operator (a bare regex may hold `[`, `]`, `{`, `}`).
    fn word(&mut self, regex: bool) -> String {
        let r = self.rest();
        if let Some(q) = r.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &r[1..];
            let end = body.find(q).unwrap_or(body.len());
            self.pos += 1 + end + usize::from(end < body.len());
            return body[..end].to_string();
        }
        let stops: &[char] = if regex {
            &[')', ',', '#', '&', '|']
        } else {
            &[')', ',', '#', '&', '|', ']', '}']
        };
        let end = r
            .find(|c: char| c.is_whitespace() || stops.contains(&c))
            .unwrap_or(r.len());
        self.pos += end;
        r[..end].to_string()
    }

    /// `[a && b]`, `{a || b}`, `[]`.
    fn list(&mut self, field: &FieldDef, start: &str) -> Result<Operand, SelectError> {
        let exact = self.rest().starts_with('[');
        let close = if exact { "]" } else { "}" };
        self.pos += 1;
        let bad = || SelectError::BadList {
            field: field.id.to_string(),
            rest: start.to_string(),
        };
        let mut items = vec![];
        let mut all: Option<bool> = None;
        loop {
            self.ws();
            if self.eat(close) {
                break;
            }
            if !items.is_empty() {
                let this = if self.eat("&&") || self.eat(",") {
                    true
                } else if self.eat("||") || self.eat("#") {
                    false
                } else {
                    return Err(bad());
                };
                if all.is_some_and(|a| a != this) {
                    return Err(SelectError::MixedListOperators {
                        field: field.id.to_string(),
                        rest: start.to_string(),
                    });
                }
                all = Some(this);
                self.ws();
            }
            if self.rest().is_empty() {
                return Err(bad());
            }
            let w = self.word(false);
            if w.is_empty() {
                return Err(bad());
            }
            items.push(w);
        }
        Ok(Operand::List {
            items,
            all: all.unwrap_or(true),
            exact,
        })
    }
}

/// Reserved names of binary fields besides the word they print.
const YES: &[&str] = &["yes"];
const NO: &[&str] = &["no"];

/// The value `w` for a comparison with `field`.
fn typed_value(
    field: &FieldDef,
    w: &str,
    quoted: bool,
    start: &str,
) -> Result<Operand, SelectError> {
    let bad = || SelectError::BadNumber {
        field: field.id.to_string(),
        rest: start.to_string(),
    };
    let undef = ["-1", "unknown", "undefined", "undef"];
    match field.kind {
        Kind::Str | Kind::StrList | Kind::Time => {
            // Per-field reserved names (LVM2's lib/report/values.h).
            let v = match (field.id, w) {
                ("seg_monitor" | "lv_health_status", "undefined") => "",
                ("vg_permissions" | "lv_permissions", "rw" | "read-write") => "writeable",
                ("vg_permissions" | "lv_permissions", "r" | "ro") => "read-only",
                ("lv_permissions", "ro-override" | "r-override" | "R") => "read-only-override",
                _ => w,
            };
            Ok(Operand::Str(v.to_string()))
        }
        Kind::Bin => {
            if YES.contains(&w) || (!w.is_empty() && bin_word(field.id).contains(&w)) {
                return Ok(Operand::Num(1.0));
            }
            if NO.contains(&w) {
                return Ok(Operand::Num(0.0));
            }
            number(field, w, quoted, bad)
        }
        Kind::Num => {
            if undef.contains(&w) || (field.id == "vg_mda_copies" && w == "unmanaged") {
                return Ok(Operand::Undef);
            }
            number(field, w, quoted, bad)
        }
        Kind::Size => {
            if field.id == "lv_read_ahead" && w == "auto" {
                return Ok(Operand::Undef);
            }
            if quoted {
                return Err(bad());
            }
            let (num, unit) = match w.char_indices().last() {
                Some((i, c)) if c.is_ascii_alphabetic() => (&w[..i], Some(c)),
                _ => (w, None),
            };
            let v: f64 = num.parse().map_err(|_| bad())?;
            if v < 0.0 || !v.is_finite() {
                return Err(bad());
            }
            let bytes = match unit.unwrap_or('m') {
                'b' | 'B' => 1.0,
                's' | 'S' => 512.0,
                c => {
                    let k = "kmgtpe".find(c.to_ascii_lowercase()).ok_or_else(bad)?;
                    let base: f64 = if c.is_ascii_uppercase() {
                        1000.0
                    } else {
                        1024.0
                    };
                    base.powi(k as i32 + 1)
                }
            };
            Ok(Operand::Num(v * bytes / 512.0))
        }
        Kind::Pct => {
            let num = w.strip_suffix('%').unwrap_or(w);
            let v: f64 = num.parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&v) {
                return Err(SelectError::OutOfRange {
                    value: num.to_string(),
                    field: field.id.to_string(),
                });
            }
            Ok(Operand::Num(v))
        }
    }
}

fn number(
    field: &FieldDef,
    w: &str,
    quoted: bool,
    bad: impl Fn() -> SelectError,
) -> Result<Operand, SelectError> {
    let _ = field;
    if quoted || w.starts_with('-') {
        return Err(bad());
    }
    if w.parse::<u64>().is_ok_and(|v| v == u64::MAX) {
        return Err(SelectError::ReservedNumber(w.to_string()));
    }
    let v: f64 = w.parse().map_err(|_| bad())?;
    if !v.is_finite() {
        return Err(bad());
    }
    Ok(Operand::Num(v))
}

/// The words binary field `id` prints when set (and LVM2's other names
/// for it), which select it as 1.
fn bin_word(id: &str) -> &'static [&'static str] {
    match id {
        "pv_allocatable" => &["allocatable"],
        "pv_exported" | "vg_exported" => &["exported"],
        "pv_missing" => &["missing"],
        "pv_in_use" => &["used", "in use"],
        "vg_extendable" => &["extendable"],
        "vg_partial" => &["partial"],
        "vg_clustered" => &["clustered"],
        "vg_shared" => &["shared"],
        "vg_autoactivation" | "lv_autoactivation" => &["enabled"],
        "lv_merging" => &["merging"],
        "lv_converting" => &["converting"],
        "lv_allocation_locked" => &["allocation locked", "locked"],
        "lv_fixed_minor" => &["fixed minor", "fixed"],
        "lv_active_locally" => &["active locally", "active", "locally"],
        "lv_active_remotely" => &["active remotely", "active", "remotely"],
        "lv_active_exclusively" => &["active exclusively", "active", "exclusively"],
        "lv_merge_failed" => &["merge failed", "failed"],
        "lv_snapshot_invalid" => &["snapshot invalid", "invalid"],
        "lv_suspended" => &["suspended"],
        "lv_live_table" => &["live table present", "live table", "live"],
        "lv_inactive_table" => &["inactive table present", "inactive table", "inactive"],
        "lv_device_open" => &["open"],
        "lv_skip_activation" => &["skip activation", "skip"],
        "zero" => &["zero"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fields::FieldDef;

    /// A row of named values for the tests: text and sort key per field id.
    type Pair = (&'static str, &'static str, SortKey<'static>);

    fn row(pairs: &[Pair]) -> impl FnMut(&'static FieldDef) -> Cell<'static> + '_ {
        move |f: &'static FieldDef| {
            pairs
                .iter()
                .find(|(id, _, _)| *id == f.id)
                .map(|(_, t, k)| Cell {
                    text: (*t).into(),
                    sort: k.clone(),
                })
                .unwrap_or(Cell {
                    text: "".into(),
                    sort: SortKey::Text,
                })
        }
    }

    fn lv(name: &'static str, mib: f64, tags: &'static str, minor: f64) -> Vec<Pair> {
        vec![
            ("lv_name", name, SortKey::Text),
            ("lv_size", "", SortKey::Num(mib * 2048.0)),
            ("lv_tags", tags, SortKey::Text),
            ("lv_minor", "", SortKey::Num(minor)),
            ("snap_percent", "", SortKey::Num(-1.0)),
        ]
    }

    fn pick(sel: &str) -> Vec<&'static str> {
        let s = Selection::parse(sel, ReportType::Lvs).unwrap();
        let rows = [
            lv("vol1", 8.0, "lv_tag1,lv_tag2", -1.0),
            lv("vol2", 4.0, "lv_tag1", -1.0),
            lv("xyz", 4.0, "", 254.0),
        ];
        rows.iter()
            .filter(|r| s.matches(&mut row(r)))
            .map(|r| r[0].1)
            .collect()
    }

    #[test]
    fn selects_like_lvm() {
        assert_eq!(pick("lv_name=vol1"), ["vol1"]);
        assert_eq!(pick("lv_name!='vol1'"), ["vol2", "xyz"]);
        assert_eq!(pick("size=8388608b"), ["vol1"]);
        assert_eq!(pick("size=0.0078125g"), ["vol1"]);
        assert_eq!(pick("lv_size=8"), ["vol1"]);
        assert_eq!(pick("size<8m"), ["vol2", "xyz"]);
        assert_eq!(pick("lv_name=~^vol[12]"), ["vol1", "vol2"]);
        assert_eq!(pick("tags=lv_tag1"), ["vol1", "vol2"]);
        assert_eq!(pick("tags=[lv_tag1]"), ["vol2"]);
        assert_eq!(pick("tags={lv_tag1 && lv_tag2}"), ["vol1"]);
        assert_eq!(pick("tags=[lv_tag2 || x]"), ["vol1"]);
        assert_eq!(pick("tags={}"), ["xyz"]);
        assert_eq!(pick("tags=\"\""), ["xyz"]);
        assert_eq!(pick("lv_minor=undefined"), ["vol1", "vol2"]);
        assert_eq!(pick("lv_minor<300"), ["xyz"]);
        assert_eq!(pick("lv_minor!=254"), ["vol1", "vol2"]);
        assert!(pick("snap_percent!=50").is_empty());
        assert_eq!(
            pick("(lv_name=vol1 || lv_name=vol2) && lv_size < 8m"),
            ["vol2"]
        );
        assert_eq!(pick("!(lv_name=vol1 # lv_name=vol2)"), ["xyz"]);
        assert_eq!(pick("lv_name=vol1,lv_size=8m"), ["vol1"]);
        assert_eq!(pick(""), ["vol1", "vol2", "xyz"]);
    }

    #[test]
    fn errors_in_lvm_words() {
        let e = |s| {
            Selection::parse(s, ReportType::Lvs)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("foo=1"),
            "Unrecognised selection field: foo\n  Selection syntax error at 'foo=1'.\n  Use 'help' for selection to get more help."
        );
        assert!(e("lv_name=vol1 &&").starts_with("Expecting field name\n"));
        assert_eq!(
            e("(lv_name=vol1"),
            "Syntax error: right parenthesis expected at ''"
        );
        assert_eq!(
            e("lv_name=vol1 || ! lv_size=4m"),
            "Syntax error: left parenthesis expected at ' lv_size=4m'"
        );
        assert!(e("lv_name<3").starts_with("Operator can be used only with"));
        assert!(e("lv_minor=-2")
            .starts_with("Failed to parse numeric value for selection field lv_minor."));
        assert_eq!(
            e("lv_minor=18446744073709551615"),
            "Numeric value 18446744073709551615 found in selection is reserved."
        );
        assert_eq!(
            e("snap_percent=101%"),
            "Field selection value 101 out of supported range for field snap_percent."
        );
        assert!(e("tags=[a && b || c]").starts_with("Only one type of logical operator"));
        assert!(e("lv_name=vol1 lv_size=8m").starts_with("Expecting logical operator\n"));
    }
}
