//! The libdm config-tree grammar (`libdm/libdm-config.c`): parse and write.
//! Pure; no I/O. Used for VG text metadata, `lvm.conf` and `--config`
//! strings.
//!
//! Grammar: `key = value`, `name { ... }`, arrays `[v, v]`, `"..."` strings
//! with backslash escapes, `'...'` strings, `#` comments to end of line.
//! A key is any run of characters other than whitespace, `#`, `=`, `{`, `}`;
//! a key containing `/` is a path (`global/locking_dir = "/x"` means the
//! `locking_dir` key inside section `global`), as libdm's
//! `_find_or_make_node` treats it. Re-opening a section name merges into
//! the first section of that name. Integers follow `strtoll(s, 0)`: `0x`
//! hex, leading `0` octal, optional sign.

use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    Float(f64),
    /// Borrowed from the parsed text unless the text escaped something.
    Str(Cow<'a, str>),
    Array(Vec<Value<'a>>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item<'a> {
    Value(Value<'a>),
    Section(Section<'a>),
}

/// A section: its items in file order. Keys and strings borrow from the
/// parsed text (a VG's metadata is parsed on every command: no allocation
/// per token); [`Section::into_owned`] detaches a tree that must outlive it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Section<'a> {
    pub items: Vec<(Cow<'a, str>, Item<'a>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Parse error at line {line}: {message}")]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

/// `a == b` for the short words of metadata (keys, flags): compared
/// inline, byte by byte, instead of through libc's `memcmp`, whose call
/// and set-up dominate for a dozen bytes (the importer compares keys some
/// 20 times per LV: 5 % of a 1000-LV import's time went to `memcmp`).
#[inline]
pub fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 24 {
        return a == b;
    }
    let mut diff = 0u8;
    for i in 0..a.len() {
        diff |= a[i] ^ b[i];
    }
    diff == 0
}

/// Parse a whole config text into its top-level section.
pub fn parse(text: &str) -> Result<Section<'_>, ConfigError> {
    parse_noting_merges(text).map(|(root, _)| root)
}

/// [`parse`], and whether a section name was opened twice in one section
/// (the parser merged the two: `a { ... } a { ... }`, or a path key such
/// as `a/b = 1` beside `a { ... }`): only then can keys of two sections
/// of VG metadata have become one section's.
pub fn parse_noting_merges(text: &str) -> Result<(Section<'_>, bool), ConfigError> {
    let mut p = Parser {
        text,
        s: text.as_bytes(),
        pos: 0,
        merged: false,
    };
    let mut root = Section::default();
    p.items(&mut root, 0)?;
    Ok((root, p.merged))
}

/// The section at `path` (non-empty) below `sec`, created if needed: the
/// first component through `sections`, the index of `sec`'s own sections.
fn child_section<'s, 'a>(
    sec: &'s mut Section<'a>,
    sections: &mut SectionIndex<'a>,
    path: &[&'a str],
) -> &'s mut Section<'a> {
    let Some((first, rest)) = path.split_first() else {
        return sec;
    };
    let idx = match sections.get(sec, first) {
        Some(i) => i,
        None => {
            sec.items
                .push((Cow::Borrowed(*first), Item::Section(Section::default())));
            sections.insert(sec, sec.items.len() - 1);
            sec.items.len() - 1
        }
    };
    match &mut sec.items[idx].1 {
        Item::Section(child) => child.section_mut_create(rest),
        Item::Value(_) => unreachable!("the index holds sections only"),
    }
}

/// Where each section directly in a section is, by name (the first of
/// that name), as indexes into its items: searched in place while there
/// are a few (an LV's segments), hashed beyond (a VG's thousands of LVs),
/// so that neither pays for the other's structure.
#[derive(Default)]
struct SectionIndex<'a> {
    /// The first `len` entries, while there are at most SMALL_INDEX (no
    /// allocation for the section of every LV).
    list: [usize; SMALL_INDEX],
    len: usize,
    map: Option<FxHashMap<Cow<'a, str>, usize>>,
}

/// Sections searched in place before [`SectionIndex`] hashes them.
const SMALL_INDEX: usize = 8;

impl<'a> SectionIndex<'a> {
    fn get(&self, sec: &Section<'a>, name: &str) -> Option<usize> {
        match &self.map {
            Some(m) => m.get(name).copied(),
            None => self.list[..self.len]
                .iter()
                .copied()
                .find(|&i| sec.items[i].0 == name),
        }
    }

    /// Adds item `i` of `sec`, a section whose name is not indexed yet.
    fn insert(&mut self, sec: &Section<'a>, i: usize) {
        match &mut self.map {
            Some(m) => {
                m.insert(sec.items[i].0.clone(), i);
            }
            None if self.len < SMALL_INDEX => {
                self.list[self.len] = i;
                self.len += 1;
            }
            None => {
                let small = self.list.iter().map(|&j| (sec.items[j].0.clone(), j));
                let mut m: FxHashMap<Cow<'a, str>, usize> = small.collect();
                m.insert(sec.items[i].0.clone(), i);
                self.map = Some(m);
            }
        }
    }
}

/// The bytes that end a key or a bare word: white space, `#`, `=`, `{`, `}`.
const ENDS_KEY: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_whitespace() || matches!(c, b'#' | b'=' | b'{' | b'}');
        i += 1;
    }
    t
};

/// Items a new section has room for before it grows: an LV's section has
/// 7 (its keys and one segment), a segment's 5 or 6.
const SECTION_ITEMS: usize = 8;

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    /// The text, and the same as bytes: tokens end at ASCII delimiters,
    /// so each is a `str` slice of `text`, never re-validated.
    text: &'a str,
    s: &'a [u8],
    pos: usize,
    /// A section name was opened again (or a path key walked into a
    /// section): see [`parse_noting_merges`].
    merged: bool,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError {
            line: self.line_at(self.pos),
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// The line (from 1) of byte `pos`: counted only for an error, not
    /// kept up to date byte by byte.
    fn line_at(&self, pos: usize) -> usize {
        self.s[..pos.min(self.s.len())]
            .iter()
            .filter(|&&c| c == b'\n')
            .count()
            + 1
    }

    /// Skip whitespace and `#` comments.
    fn skip(&mut self) {
        while let Some(&c) = self.s.get(self.pos) {
            if c.is_ascii_whitespace() {
                // Metadata indents with runs of tabs: take the whole run.
                let rest = &self.s[self.pos + 1..];
                let n = rest.iter().position(|c| !c.is_ascii_whitespace());
                self.pos += 1 + n.unwrap_or(rest.len());
            } else if c == b'#' {
                // Most of a stock lvm.conf is comments: find their ends with memchr.
                self.pos = match memchr::memchr(b'\n', &self.s[self.pos..]) {
                    Some(n) => self.pos + n,
                    None => self.s.len(),
                };
            } else {
                break;
            }
        }
    }

    /// Items until `}` (depth > 0) or end of text (depth 0).
    fn items(&mut self, sec: &mut Section<'a>, depth: usize) -> Result<(), ConfigError> {
        if depth > MAX_DEPTH {
            return self.err("sections nested too deeply");
        }
        // Where each section directly in `sec` is, by name: re-opening a
        // name merges into the first section of that name, and a VG with
        // thousands of LVs must not pay a linear search per LV section.
        let mut sections = SectionIndex::default();
        for (i, (k, item)) in sec.items.iter().enumerate() {
            if matches!(item, Item::Section(_)) && sections.get(sec, k).is_none() {
                sections.insert(sec, i);
            }
        }
        loop {
            self.skip();
            match self.peek() {
                None if depth == 0 => return Ok(()),
                None => return self.err("unexpected end of text: missing '}'"),
                Some(b'}') if depth > 0 => {
                    self.bump();
                    return Ok(());
                }
                Some(b'}') => return self.err("unexpected '}'"),
                Some(b'=') | Some(b'{') => {
                    return self.err(format!("expected a key, found '{}'", self.peek_char()))
                }
                Some(_) => {}
            }
            let key_pos = self.pos;
            let (key, is_path) = self.key_and_slash()?;
            if !is_path {
                // A plain key (the usual case): no path to walk.
                self.skip();
                match self.bump() {
                    Some(b'{') => {
                        // `child_section` for one plain name, the key moved in.
                        let idx = match sections.get(sec, key) {
                            Some(i) => {
                                self.merged = true;
                                i
                            }
                            None => {
                                // Room for an LV's or a segment's keys: no
                                // regrowth for the usual section.
                                let child = Section {
                                    items: Vec::with_capacity(SECTION_ITEMS),
                                };
                                sec.items.push((Cow::Borrowed(key), Item::Section(child)));
                                sections.insert(sec, sec.items.len() - 1);
                                sec.items.len() - 1
                            }
                        };
                        let Item::Section(target) = &mut sec.items[idx].1 else {
                            unreachable!("the index holds sections only")
                        };
                        self.items(target, depth + 1)?;
                        continue;
                    }
                    Some(b'=') => {
                        self.skip();
                        let v = self.value(false)?;
                        sec.items.push((Cow::Borrowed(key), Item::Value(v)));
                        continue;
                    }
                    _ => {
                        return Err(ConfigError {
                            line: self.line_at(key_pos),
                            message: format!("expected '=' or '{{' after key '{key}'"),
                        })
                    }
                }
            }
            let path: Vec<&str> = key.split('/').filter(|c| !c.is_empty()).collect();
            if path.is_empty() {
                return self.err(format!("invalid key '{key}'"));
            }
            // Rare in metadata: counted as a merge whatever it walks into.
            self.merged = true;
            self.skip();
            match self.bump() {
                Some(b'{') => {
                    let target = child_section(sec, &mut sections, &path);
                    self.items(target, depth + 1)?;
                }
                Some(b'=') => {
                    self.skip();
                    let v = self.value(false)?;
                    let (last, parents) = path.split_last().unwrap_or((&"", &[]));
                    let last = Cow::Borrowed(*last);
                    if parents.is_empty() {
                        sec.items.push((last, Item::Value(v)));
                    } else {
                        child_section(sec, &mut sections, parents)
                            .items
                            .push((last, Item::Value(v)));
                    }
                }
                _ => {
                    return Err(ConfigError {
                        line: self.line_at(key_pos),
                        message: format!("expected '=' or '{{' after key '{key}'"),
                    })
                }
            }
        }
    }

    fn peek_char(&self) -> char {
        self.peek().map(char::from).unwrap_or(' ')
    }

    fn key(&mut self) -> Result<&'a str, ConfigError> {
        Ok(self.key_and_slash()?.0)
    }

    /// A key, and whether it holds a `/` (a path), seen in the same pass
    /// (a search of each key again was 3 % of reading a VG's metadata).
    fn key_and_slash(&mut self) -> Result<(&'a str, bool), ConfigError> {
        let start = self.pos;
        let rest = &self.s[start..];
        let mut n = 0;
        let mut slash = false;
        while n < rest.len() && !ENDS_KEY[usize::from(rest[n])] {
            slash |= rest[n] == b'/';
            n += 1;
        }
        self.pos += n;
        Ok((self.utf8(start, self.pos)?, slash))
    }

    fn utf8(&self, a: usize, b: usize) -> Result<&'a str, ConfigError> {
        match self.text.get(a..b) {
            Some(s) => Ok(s),
            None => self.err("invalid UTF-8"),
        }
    }

    fn value(&mut self, in_array: bool) -> Result<Value<'a>, ConfigError> {
        match self.peek() {
            Some(b'[') if !in_array => {
                self.bump();
                let mut vals = Vec::new();
                self.skip();
                if self.peek() == Some(b']') {
                    self.bump();
                    return Ok(Value::Array(vals));
                }
                // As libdm's parser: the commas between elements are
                // optional, and one may follow the last element; but a bare
                // word is a value only after '[' or ',' (else libdm reads
                // an identifier and fails).
                let mut after_sep = true;
                loop {
                    self.skip();
                    match self.peek() {
                        Some(b']') => {
                            self.bump();
                            return Ok(Value::Array(vals));
                        }
                        None => return self.err("unexpected end of text: missing ']'"),
                        Some(c)
                            if !after_sep
                                && !matches!(c, b'"' | b'\'' | b'-' | b'+' | b'.')
                                && !c.is_ascii_digit() =>
                        {
                            return self.err(format!(
                                "expected ',' or ']' in array, found '{}'",
                                char::from(c)
                            ));
                        }
                        _ => {}
                    }
                    vals.push(self.value(true)?);
                    self.skip();
                    after_sep = self.peek() == Some(b',');
                    if after_sep {
                        self.bump();
                    }
                }
            }
            Some(b'[') => self.err("nested arrays are not allowed"),
            Some(b'"') => {
                self.bump();
                // The usual string: no escape, no newline; one slice.
                let rest = &self.s[self.pos..];
                if let Some(n) = rest.iter().position(|&c| matches!(c, b'"' | b'\\' | b'\n')) {
                    if rest[n] == b'"' {
                        let v = self.utf8(self.pos, self.pos + n)?;
                        self.pos += n + 1;
                        return Ok(Value::Str(Cow::Borrowed(v)));
                    }
                }
                let mut out = Vec::new();
                loop {
                    match self.bump() {
                        None => return self.err("unterminated string"),
                        Some(b'"') => break,
                        // libdm unescapes only \" and \\ (dm_unescape_double_quotes);
                        // any other backslash stays as written.
                        Some(b'\\') => match self.peek() {
                            Some(c @ (b'"' | b'\\')) => {
                                self.bump();
                                out.push(c);
                            }
                            _ => out.push(b'\\'),
                        },
                        Some(c) => out.push(c),
                    }
                }
                match String::from_utf8(out) {
                    Ok(s) => Ok(Value::Str(Cow::Owned(s))),
                    Err(_) => self.err("invalid UTF-8 in string"),
                }
            }
            Some(b'\'') => {
                self.bump();
                let start = self.pos;
                loop {
                    match self.bump() {
                        None => return self.err("unterminated string"),
                        Some(b'\'') => break,
                        Some(_) => {}
                    }
                }
                Ok(Value::Str(Cow::Borrowed(self.utf8(start, self.pos - 1)?)))
            }
            Some(c) if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.') => {
                let start = self.pos;
                let rest = &self.s[start..];
                let n = rest
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')));
                self.pos += n.unwrap_or(rest.len());
                let Some(tok) = self.text.get(start..self.pos) else {
                    return self.err("invalid UTF-8");
                };
                match parse_number(tok) {
                    Some(v) => Ok(v),
                    None => self.err(format!("invalid number '{tok}'")),
                }
            }
            None => self.err("unexpected end of text: missing value"),
            // A bare word is a string (libdm's TOK_STRING_BARE): it runs
            // to white space, '#', '=', '{' or '}' (`system_id_source =
            // none`, as LVM2's test suite writes it).
            Some(c) if !matches!(c, b'=' | b'{' | b'}' | b',' | b']' | b'[') => {
                Ok(Value::Str(Cow::Borrowed(self.key()?)))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_whitespace() || matches!(c, b',' | b']' | b'}' | b'#') {
                        break;
                    }
                    self.bump();
                }
                let tok = String::from_utf8_lossy(&self.s[start..self.pos.max(start + 1)]);
                self.err(format!(
                    "unexpected token '{tok}' where a value was expected"
                ))
            }
        }
    }
}

/// `strtoll(tok, NULL, 0)` for whole tokens, or a float if the token has a
/// `.` or an exponent (and is not hex).
pub fn parse_number(tok: &str) -> Option<Value<'static>> {
    // The usual token, plain decimal digits (no sign, no leading 0): no
    // lowercased copy to make.
    let b = tok.as_bytes();
    if b == b"0" {
        return Some(Value::Int(0));
    }
    if !b.is_empty() && b.len() <= 18 && b[0] != b'0' && b.iter().all(u8::is_ascii_digit) {
        let v = b.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
        return Some(Value::Int(v));
    }
    let (neg, body) = match tok.as_bytes().first()? {
        b'-' => (true, &tok[1..]),
        b'+' => (false, &tok[1..]),
        _ => (false, tok),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h)
    } else if lower.contains(['.', 'e']) {
        let f: f64 = tok.parse().ok()?;
        return f.is_finite().then_some(Value::Float(f));
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Parse the magnitude as u64 so that i64::MIN is representable.
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag == 1u64 << 63 {
            Some(Value::Int(i64::MIN))
        } else {
            i64::try_from(mag).ok().map(|m| Value::Int(-m))
        }
    } else {
        i64::try_from(mag).ok().map(Value::Int)
    }
}

impl<'a> Section<'a> {
    /// The same tree owning all its keys and strings.
    pub fn into_owned(self) -> Section<'static> {
        Section {
            items: self
                .items
                .into_iter()
                .map(|(k, item)| (Cow::Owned(k.into_owned()), item.into_owned()))
                .collect(),
        }
    }

    /// The first item directly in this section with key `key` (no path).
    pub fn find(&self, key: &str) -> Option<&Item<'a>> {
        self.items
            .iter()
            .find(|(k, _)| key_eq(k, key))
            .map(|(_, i)| i)
    }

    /// The item at `path` (`a/b/c`). Like libdm, the first match wins.
    pub fn get(&self, path: &str) -> Option<&Item<'a>> {
        let mut parts = path.split('/').filter(|c| !c.is_empty()).peekable();
        let mut sec = self;
        while let Some(part) = parts.next() {
            let item = sec.find(part)?;
            if parts.peek().is_none() {
                return Some(item);
            }
            match item {
                Item::Section(s) => sec = s,
                Item::Value(_) => return None,
            }
        }
        None
    }

    pub fn get_value(&self, path: &str) -> Option<&Value<'a>> {
        match self.get(path)? {
            Item::Value(v) => Some(v),
            Item::Section(_) => None,
        }
    }

    pub fn get_int(&self, path: &str) -> Option<i64> {
        match self.get_value(path)? {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn get_float(&self, path: &str) -> Option<f64> {
        match self.get_value(path)? {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn get_str(&self, path: &str) -> Option<&str> {
        match self.get_value(path)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string, or an array of strings, as a list. `None` if absent or of
    /// another type (including an array holding a non-string).
    pub fn get_str_list(&self, path: &str) -> Option<Vec<&str>> {
        match self.get_value(path)? {
            Value::Str(s) => Some(vec![s.as_ref()]),
            Value::Array(vals) => vals
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Some(s.as_ref()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    pub fn get_section(&self, path: &str) -> Option<&Section<'a>> {
        match self.get(path)? {
            Item::Section(s) => Some(s),
            Item::Value(_) => None,
        }
    }

    /// The section at `path`, created (and any value in the way replaced)
    /// if needed.
    fn section_mut_create(&mut self, path: &[&str]) -> &mut Section<'a> {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        let idx = match self
            .items
            .iter()
            .position(|(k, i)| k == first && matches!(i, Item::Section(_)))
        {
            Some(i) => i,
            None => {
                self.items.push((
                    Cow::Owned(first.to_string()),
                    Item::Section(Section::default()),
                ));
                self.items.len() - 1
            }
        };
        match &mut self.items[idx].1 {
            Item::Section(s) => s.section_mut_create(rest),
            Item::Value(_) => unreachable!("idx was chosen or pushed as a section"),
        }
    }

    /// Replace the first item named `key` or append it.
    fn put(&mut self, key: &str, item: Item<'a>) {
        match self.items.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = item,
            None => self.items.push((Cow::Owned(key.to_string()), item)),
        }
    }

    /// Set the value at `path`, creating sections on the way.
    pub fn set(&mut self, path: &str, value: Value<'a>) {
        let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        if let Some((last, parents)) = parts.split_last() {
            self.section_mut_create(parents)
                .put(last, Item::Value(value));
        }
    }

    /// Overlay `other` onto `self`: its values replace ours, sections merge
    /// recursively (`--config` overrides on top of `lvm.conf`).
    pub fn merge_from(&mut self, other: &Section<'_>) {
        for (key, item) in &other.items {
            match item {
                Item::Section(o) => self.section_mut_create(&[key]).merge_from(o),
                Item::Value(v) => self.put(key, Item::Value(v.clone().into_owned())),
            }
        }
    }
}

impl Item<'_> {
    /// The same item owning all its keys and strings.
    pub fn into_owned(self) -> Item<'static> {
        match self {
            Item::Value(v) => Item::Value(v.into_owned()),
            Item::Section(s) => Item::Section(s.into_owned()),
        }
    }
}

impl Value<'_> {
    /// The same value owning its strings.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Array(vals) => Value::Array(vals.into_iter().map(Value::into_owned).collect()),
        }
    }
}

/// Quote a string the way libdm writes it: `"` and `\` get a backslash.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Format one value as config text.
pub fn format_value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            let s = format!("{f:?}");
            if s.contains(['.', 'e', 'E']) || !f.is_finite() {
                s
            } else {
                format!("{s}.0")
            }
        }
        Value::Str(s) => quote(s),
        Value::Array(vals) => {
            let parts: Vec<String> = vals.iter().map(format_value).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// Write a section tree as config text; `indent` adds one tab per level.
pub fn write(section: &Section, indent: bool) -> String {
    let mut out = String::new();
    write_into(&mut out, section, indent, 0);
    out
}

fn write_into(out: &mut String, section: &Section, indent: bool, depth: usize) {
    let pad = if indent {
        "\t".repeat(depth)
    } else {
        String::new()
    };
    for (key, item) in &section.items {
        match item {
            Item::Value(v) => {
                let _ = writeln!(out, "{pad}{key} = {}", format_value(v));
            }
            Item::Section(s) => {
                let _ = writeln!(out, "{pad}{key} {{");
                write_into(out, s, indent, depth + 1);
                let _ = writeln!(out, "{pad}}}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `key_eq` is `==`, short and long, equal lengths or not.
    #[test]
    fn key_eq_is_string_equality() {
        let words = [
            "",
            "a",
            "b",
            "id",
            "ie",
            "status",
            "statuz",
            "segment_count",
            "creation_time",
            "creation_host",
            "allocation_policy",
            "allocation_policz",
            "a_key_longer_than_twenty_four_bytes",
            "a_key_longer_than_twenty_four_bytez",
        ];
        for a in words {
            for b in words {
                assert_eq!(key_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn plain_decimal_numbers_take_the_short_way() {
        for (tok, v) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("123", Some(123)),
            ("007", Some(7)),
            ("0x1f", Some(31)),
            ("-12", Some(-12)),
            ("999999999999999999", Some(999_999_999_999_999_999)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("12a", None),
        ] {
            assert_eq!(parse_number(tok), v.map(Value::Int), "{tok}");
        }
    }

    #[test]
    fn parses_sections_values_arrays_comments() {
        let t = "# c\nvg0 {\n id = \"a\\\"b\\\\c\" # x\n n = 010\n h = 0x1F\n m = -5\n f = 1.5\n a = [\"x\", 1, 'y']\n e = []\n sub { k = 1 }\n}\ncontents = 'T'\n";
        let s = parse(t).unwrap();
        assert_eq!(s.get_str("vg0/id"), Some("a\"b\\c"));
        assert_eq!(s.get_int("vg0/n"), Some(8));
        assert_eq!(s.get_int("vg0/h"), Some(31));
        assert_eq!(s.get_int("vg0/m"), Some(-5));
        assert_eq!(s.get_float("vg0/f"), Some(1.5));
        assert_eq!(
            s.get_value("vg0/a"),
            Some(&Value::Array(vec![
                Value::Str("x".into()),
                Value::Int(1),
                Value::Str("y".into())
            ]))
        );
        assert_eq!(s.get_str_list("vg0/e"), Some(vec![]));
        assert_eq!(s.get_int("vg0/sub/k"), Some(1));
        assert_eq!(s.get_str("contents"), Some("T"));
        assert_eq!(s.get_str_list("contents"), Some(vec!["T"]));
        assert!(s.get_section("vg0").is_some());
    }

    /// libdm takes array elements without commas (LVM2's
    /// devicesfile-basic.sh writes `filter = [ "r|a|" "r|b|" ]`) and a
    /// comma after the last one.
    #[test]
    fn array_commas_are_optional() {
        let s = parse("f = [ \"r|a|\" \"r|b|\" ]\ng = [1, 2,]\n").unwrap();
        assert_eq!(s.get_str_list("f"), Some(vec!["r|a|", "r|b|"]));
        assert_eq!(
            s.get_value("g"),
            Some(&Value::Array(vec![Value::Int(1), Value::Int(2)]))
        );
        assert!(parse("f = [ \"a\" ").is_err());
    }

    /// LVM2's test suite writes `system_id_source = none`: a bare word is
    /// a string, in arrays too; a value that starts with `=` is not.
    #[test]
    fn bare_words_are_strings() {
        let s =
            parse("global {\n system_id_source = none\n}\nlocal { ids = [ a.1 , b ] }").unwrap();
        assert_eq!(s.get_str("global/system_id_source"), Some("none"));
        assert_eq!(s.get_str_list("local/ids"), Some(vec!["a.1", "b"]));
        // As in libdm, a comma right after a bare word is part of it.
        assert!(parse("a = [ x, y ]").is_err());
        assert!(parse("a = = 1").is_err());
    }

    #[test]
    fn path_keys_make_nested_sections() {
        let s = parse("global/locking_dir=\"/x\" global/a = 1\nglobal { b = 2 }").unwrap();
        assert_eq!(s.items.len(), 1);
        assert_eq!(s.get_str("global/locking_dir"), Some("/x"));
        assert_eq!(s.get_int("global/b"), Some(2));
    }

    #[test]
    fn errors_carry_line_numbers() {
        let e = parse("a {\n b = \n}\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(parse("a = [1, [2]]").is_err());
        assert!(parse("a = \"x").is_err());
        assert!(parse("a { b = 1").is_err());
        assert!(parse("a = =").is_err());
        assert!(parse("}").is_err());
        assert!(parse("a = 09").is_err());
        assert_eq!(
            parse("a = -9223372036854775808").unwrap().get_int("a"),
            Some(i64::MIN)
        );
        assert!(parse("a = 9223372036854775808").is_err());
        assert_eq!(
            parse("x = 1\n\n= 2").unwrap_err().to_string(),
            "Parse error at line 3: expected a key, found '='"
        );
    }

    #[test]
    fn merge_and_set() {
        let mut base = parse("global { a = 1 b = 2 } devices { f = [\"a\"] }").unwrap();
        let over = parse("global/b = 3 global/c = \"z\" new { k = 1 }").unwrap();
        base.merge_from(&over);
        assert_eq!(base.get_int("global/a"), Some(1));
        assert_eq!(base.get_int("global/b"), Some(3));
        assert_eq!(base.get_str("global/c"), Some("z"));
        assert_eq!(base.get_int("new/k"), Some(1));
        base.set("x/y/z", Value::Int(4));
        assert_eq!(base.get_int("x/y/z"), Some(4));
        base.set("global/a", Value::Str("q".into()));
        assert_eq!(base.get_str("global/a"), Some("q"));
    }

    #[test]
    fn write_round_trips() {
        let t = "a {\n\ts = \"q\\\"\\\\ 'x'\"\n\tl = [\"a\", 2, 1.5]\n\tb {\n\t\tc = -1\n\t}\n}\nd = 0.0\n";
        let s = parse(t).unwrap();
        assert_eq!(write(&s, true), t);
        assert_eq!(parse(&write(&s, false)).unwrap(), s);
    }

    #[test]
    fn never_panics_on_junk() {
        for t in [
            "", "{", "=", "[", "a=[", "a=\"\\", "a='", "a=-", "a=0x", "a=+", "/=1", "é=1",
        ] {
            let _ = parse(t);
        }
    }
}
