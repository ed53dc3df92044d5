//! Typed device-mapper table lines for the targets rlvm uses, in the
//! devicemapper-rs style: each line prints and parses round-trip
//! (Display/FromStr). Status lines parse in `status.rs`. Pure.
//!
//! Syntax reference: the kernel's Documentation/admin-guide/device-mapper
//! (linear, striped, snapshot.rst) and `snapshot_ctr`/`snapshot_status` in
//! drivers/md/dm-snap.c. Units are 512-byte sectors.

use std::fmt;
use std::str::FromStr;

/// A block device number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    pub const fn new(major: u32, minor: u32) -> DevNum {
        DevNum { major, minor }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

impl FromStr for DevNum {
    type Err = TargetParseError;
    fn from_str(s: &str) -> Result<DevNum, TargetParseError> {
        let err = || TargetParseError::new(format!("bad device number '{s}'"));
        let (a, b) = s.split_once(':').ok_or_else(err)?;
        Ok(DevNum {
            major: a.parse().map_err(|_| err())?,
            minor: b.parse().map_err(|_| err())?,
        })
    }
}

/// A device referenced by a table. The kernel only ever prints `maj:min`;
/// the planner uses `Name` for dm devices that may not exist yet, and the
/// executor resolves it to `Num` before loading.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DevRef {
    Num(DevNum),
    /// A dm device name (printed bare).
    Name(String),
}

impl fmt::Display for DevRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevRef::Num(n) => n.fmt(f),
            DevRef::Name(n) => f.write_str(n),
        }
    }
}

impl FromStr for DevRef {
    type Err = TargetParseError;
    /// `maj:min` gives `Num`; any other non-empty word is a `Name`.
    fn from_str(s: &str) -> Result<DevRef, TargetParseError> {
        if s.is_empty() || s.contains(char::is_whitespace) {
            return Err(TargetParseError::new(format!("bad device '{s}'")));
        }
        if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) && s.contains(':') {
            return s.parse().map(DevRef::Num);
        }
        Ok(DevRef::Name(s.to_string()))
    }
}

/// COW store type: `P` persistent, `PO` persistent with overflow,
/// `N` transient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Persistence {
    Persistent,
    PersistentOverflow,
    Transient,
}

impl Persistence {
    pub const fn as_str(self) -> &'static str {
        match self {
            Persistence::Persistent => "P",
            Persistence::PersistentOverflow => "PO",
            Persistence::Transient => "N",
        }
    }
}

/// Optional snapshot feature arguments (`parse_snapshot_features`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnapshotFeature {
    DiscardZeroesCow,
    DiscardPassdownOrigin,
}

impl SnapshotFeature {
    pub const fn as_str(self) -> &'static str {
        match self {
            SnapshotFeature::DiscardZeroesCow => "discard_zeroes_cow",
            SnapshotFeature::DiscardPassdownOrigin => "discard_passdown_origin",
        }
    }
}

/// Arguments shared by `snapshot` and `snapshot-merge`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SnapshotArgs {
    /// The origin's `-real` device.
    pub origin: DevRef,
    /// The `-cow` device.
    pub cow: DevRef,
    pub persistence: Persistence,
    /// Chunk size in sectors (0 = take it from the COW header).
    pub chunk_size: u64,
    pub features: Vec<SnapshotFeature>,
}

/// One stripe: device and offset in sectors.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stripe {
    pub dev: DevRef,
    pub offset: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Linear {
        dev: DevRef,
        offset: u64,
    },
    Striped {
        /// Stripe (chunk) size in sectors.
        chunk_size: u64,
        stripes: Vec<Stripe>,
    },
    Error,
    Zero,
    SnapshotOrigin {
        origin: DevRef,
    },
    Snapshot(SnapshotArgs),
    SnapshotMerge(SnapshotArgs),
    /// A target rlvm does not model (thin, crypt, ...), kept verbatim so
    /// that listing the kernel's devices never fails on foreign ones.
    Other {
        target_type: String,
        params: String,
    },
}

impl Target {
    pub fn target_type(&self) -> &str {
        match self {
            Target::Linear { .. } => "linear",
            Target::Striped { .. } => "striped",
            Target::Error => "error",
            Target::Zero => "zero",
            Target::SnapshotOrigin { .. } => "snapshot-origin",
            Target::Snapshot(_) => "snapshot",
            Target::SnapshotMerge(_) => "snapshot-merge",
            Target::Other { target_type, .. } => target_type,
        }
    }

    /// The parameter string, as the kernel's TABLE status prints it.
    pub fn params(&self) -> String {
        match self {
            Target::Linear { dev, offset } => format!("{dev} {offset}"),
            Target::Striped {
                chunk_size,
                stripes,
            } => {
                let mut s = format!("{} {chunk_size}", stripes.len());
                for st in stripes {
                    s.push_str(&format!(" {} {}", st.dev, st.offset));
                }
                s
            }
            Target::Error | Target::Zero => String::new(),
            Target::SnapshotOrigin { origin } => origin.to_string(),
            Target::Snapshot(a) | Target::SnapshotMerge(a) => {
                let mut s = format!(
                    "{} {} {} {}",
                    a.origin,
                    a.cow,
                    a.persistence.as_str(),
                    a.chunk_size
                );
                if !a.features.is_empty() {
                    s.push_str(&format!(" {}", a.features.len()));
                    for f in &a.features {
                        s.push(' ');
                        s.push_str(f.as_str());
                    }
                }
                s
            }
            Target::Other { params, .. } => params.clone(),
        }
    }

    /// Every device the target references, in table order.
    pub fn devices(&self) -> Vec<&DevRef> {
        match self {
            Target::Linear { dev, .. } => vec![dev],
            Target::Striped { stripes, .. } => stripes.iter().map(|s| &s.dev).collect(),
            Target::SnapshotOrigin { origin } => vec![origin],
            Target::Snapshot(a) | Target::SnapshotMerge(a) => vec![&a.origin, &a.cow],
            Target::Error | Target::Zero | Target::Other { .. } => vec![],
        }
    }

    /// The same target with every device reference mapped by `f`.
    pub fn map_devices<E>(
        &self,
        mut f: impl FnMut(&DevRef) -> Result<DevRef, E>,
    ) -> Result<Target, E> {
        let mut snap = |a: &SnapshotArgs| -> Result<SnapshotArgs, E> {
            Ok(SnapshotArgs {
                origin: f(&a.origin)?,
                cow: f(&a.cow)?,
                ..a.clone()
            })
        };
        Ok(match self {
            Target::Linear { dev, offset } => Target::Linear {
                dev: f(dev)?,
                offset: *offset,
            },
            Target::Striped {
                chunk_size,
                stripes,
            } => Target::Striped {
                chunk_size: *chunk_size,
                stripes: stripes
                    .iter()
                    .map(|s| {
                        Ok(Stripe {
                            dev: f(&s.dev)?,
                            offset: s.offset,
                        })
                    })
                    .collect::<Result<_, E>>()?,
            },
            Target::SnapshotOrigin { origin } => Target::SnapshotOrigin { origin: f(origin)? },
            Target::Snapshot(a) => Target::Snapshot(snap(a)?),
            Target::SnapshotMerge(a) => Target::SnapshotMerge(snap(a)?),
            other => other.clone(),
        })
    }

    /// Parse a target from its type and parameter string, as the kernel
    /// returns them (`DM_TABLE_STATUS` with `DM_STATUS_TABLE`).
    pub fn from_parts(target_type: &str, params: &str) -> Result<Target, TargetParseError> {
        let w: Vec<&str> = params.split_whitespace().collect();
        let num = |s: &str, what: &str| -> Result<u64, TargetParseError> {
            s.parse()
                .map_err(|_| TargetParseError::new(format!("{target_type}: bad {what} '{s}'")))
        };
        let argc = |n: usize| -> Result<(), TargetParseError> {
            if w.len() == n {
                Ok(())
            } else {
                Err(TargetParseError::new(format!(
                    "{target_type}: expected {n} arguments, got {}",
                    w.len()
                )))
            }
        };
        Ok(match target_type {
            "linear" => {
                argc(2)?;
                Target::Linear {
                    dev: w[0].parse()?,
                    offset: num(w[1], "offset")?,
                }
            }
            "striped" => {
                if w.len() < 2 {
                    return Err(TargetParseError::new("striped: missing arguments"));
                }
                let n = num(w[0], "stripe count")?;
                if n == 0 || (w.len() - 2) as u64 != 2 * n {
                    return Err(TargetParseError::new(format!(
                        "striped: {n} stripes need {} arguments",
                        2 * n + 2
                    )));
                }
                Target::Striped {
                    chunk_size: num(w[1], "chunk size")?,
                    stripes: w[2..]
                        .chunks(2)
                        .map(|p| {
                            Ok(Stripe {
                                dev: p[0].parse()?,
                                offset: num(p[1], "offset")?,
                            })
                        })
                        .collect::<Result<_, TargetParseError>>()?,
                }
            }
            "error" => {
                argc(0)?;
                Target::Error
            }
            "zero" => {
                argc(0)?;
                Target::Zero
            }
            "snapshot-origin" => {
                argc(1)?;
                Target::SnapshotOrigin {
                    origin: w[0].parse()?,
                }
            }
            "snapshot" | "snapshot-merge" => {
                let a = parse_snapshot_args(target_type, &w)?;
                if target_type == "snapshot" {
                    Target::Snapshot(a)
                } else {
                    if a.persistence == Persistence::Transient {
                        return Err(TargetParseError::new(
                            "snapshot-merge: needs a persistent store",
                        ));
                    }
                    Target::SnapshotMerge(a)
                }
            }
            "" => return Err(TargetParseError::new("missing target type")),
            t if t.len() > 15 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(TargetParseError::new(format!("bad target type '{t}'")));
            }
            t => Target::Other {
                target_type: t.to_string(),
                params: w.join(" "),
            },
        })
    }
}

fn parse_snapshot_args(tt: &str, w: &[&str]) -> Result<SnapshotArgs, TargetParseError> {
    let err = |m: String| TargetParseError::new(format!("{tt}: {m}"));
    if w.len() < 4 {
        return Err(err("requires 4 or more arguments".into()));
    }
    let persistence = match w[2].to_ascii_uppercase().as_str() {
        "P" => Persistence::Persistent,
        "PO" => Persistence::PersistentOverflow,
        "N" => Persistence::Transient,
        other => return Err(err(format!("bad store type '{other}'"))),
    };
    let chunk_size: u64 = w[3]
        .parse()
        .map_err(|_| err(format!("bad chunk size '{}'", w[3])))?;
    let mut features = Vec::new();
    if w.len() > 4 {
        let n: usize = w[4]
            .parse()
            .map_err(|_| err(format!("bad feature count '{}'", w[4])))?;
        if n > 2 || w.len() != 5 + n {
            return Err(err(format!("bad feature arguments '{}'", w[4..].join(" "))));
        }
        for f in &w[5..] {
            features.push(match f.to_ascii_lowercase().as_str() {
                "discard_zeroes_cow" => SnapshotFeature::DiscardZeroesCow,
                "discard_passdown_origin" => SnapshotFeature::DiscardPassdownOrigin,
                other => return Err(err(format!("unrecognised feature '{other}'"))),
            });
        }
    }
    Ok(SnapshotArgs {
        origin: w[0].parse()?,
        cow: w[1].parse()?,
        persistence,
        chunk_size,
        features,
    })
}

/// One table line: `<start> <length> <target type> <params>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TargetLine {
    pub start: u64,
    pub length: u64,
    pub target: Target,
}

impl TargetLine {
    pub fn new(start: u64, length: u64, target: Target) -> TargetLine {
        TargetLine {
            start,
            length,
            target,
        }
    }
    /// From the kernel's raw `(start, length, type, params)` tuple.
    pub fn from_raw(raw: &(u64, u64, String, String)) -> Result<TargetLine, TargetParseError> {
        Ok(TargetLine::new(
            raw.0,
            raw.1,
            Target::from_parts(&raw.2, &raw.3)?,
        ))
    }
    /// To the devicemapper crate's raw tuple.
    pub fn to_raw(&self) -> (u64, u64, String, String) {
        (
            self.start,
            self.length,
            self.target.target_type().to_string(),
            self.target.params(),
        )
    }
}

impl fmt::Display for TargetLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.start,
            self.length,
            self.target.target_type()
        )?;
        let p = self.target.params();
        if !p.is_empty() {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

impl FromStr for TargetLine {
    type Err = TargetParseError;
    fn from_str(s: &str) -> Result<TargetLine, TargetParseError> {
        let mut it = s.split_whitespace();
        let mut field = |what: &str| {
            it.next()
                .ok_or_else(|| TargetParseError::new(format!("missing {what} in '{s}'")))
        };
        let start = field("start")?;
        let length = field("length")?;
        let tt = field("target type")?;
        let start = start
            .parse()
            .map_err(|_| TargetParseError::new(format!("bad start '{start}'")))?;
        let length = length
            .parse()
            .map_err(|_| TargetParseError::new(format!("bad length '{length}'")))?;
        let params: Vec<&str> = it.collect();
        Ok(TargetLine::new(
            start,
            length,
            Target::from_parts(tt, &params.join(" "))?,
        ))
    }
}

/// A whole table, one line per target, joined with `\n` (dmsetup style).
pub fn format_table(table: &[TargetLine]) -> String {
    table
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parse a multi-line table (blank lines ignored).
pub fn parse_table(s: &str) -> Result<Vec<TargetLine>, TargetParseError> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid table line: {0}")]
pub struct TargetParseError(pub String);

impl TargetParseError {
    fn new(m: impl Into<String>) -> Self {
        TargetParseError(m.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt(s: &str) {
        let l: TargetLine = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(l.to_string(), s);
    }

    #[test]
    fn round_trips_known_lines() {
        rt("0 2048 linear 8:16 2048");
        rt("0 4096 striped 2 128 8:16 2048 8:32 2048");
        rt("0 100 error");
        rt("0 100 zero");
        rt("0 2048 snapshot-origin 253:1");
        rt("0 2048 snapshot 253:1 253:2 P 8");
        rt("0 2048 snapshot 253:1 253:2 PO 16 1 discard_zeroes_cow");
        rt("0 2048 snapshot 253:1 253:2 N 8 2 discard_zeroes_cow discard_passdown_origin");
        rt("0 2048 snapshot-merge 253:1 253:2 P 8");
        rt("0 2048 snapshot-origin vg-lv-real");
        rt("0 8 thin-pool 1 2 3");
    }

    #[test]
    fn typed_values() {
        let l: TargetLine = "0 2048 snapshot 253:1 253:2 p 8".parse().unwrap();
        match l.target {
            Target::Snapshot(a) => {
                assert_eq!(a.origin, DevRef::Num(DevNum::new(253, 1)));
                assert_eq!(a.persistence, Persistence::Persistent);
                assert_eq!(a.chunk_size, 8);
            }
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn bad_lines_are_errors() {
        for s in [
            "",
            "0",
            "0 10",
            "x 10 linear 8:0 0",
            "0 -1 linear 8:0 0",
            "0 10 linear 8:0",
            "0 10 linear 8:0 x",
            "0 10 linear 8:x 0",
            "0 10 striped 0 128",
            "0 10 striped 2 128 8:0 0",
            "0 10 striped",
            "0 10 error 1",
            "0 10 snapshot-origin",
            "0 10 snapshot-origin 8:0 8:1",
            "0 10 snapshot 8:0 8:1 P",
            "0 10 snapshot 8:0 8:1 Q 8",
            "0 10 snapshot 8:0 8:1 P x",
            "0 10 snapshot 8:0 8:1 P 8 1",
            "0 10 snapshot 8:0 8:1 P 8 1 bogus",
            "0 10 snapshot 8:0 8:1 P 8 3 a b c",
            "0 10 snapshot-merge 8:0 8:1 N 8",
            "0 10 abcdefghijklmnopq",
        ] {
            assert!(s.parse::<TargetLine>().is_err(), "accepted '{s}'");
        }
    }

    fn devref() -> impl Strategy<Value = DevRef> {
        prop_oneof![
            (0u32..4096, 0u32..1 << 20).prop_map(|(a, b)| DevRef::Num(DevNum::new(a, b))),
            "[a-z][a-z0-9+_.-]{0,20}".prop_map(DevRef::Name),
        ]
    }

    fn snap_args() -> impl Strategy<Value = SnapshotArgs> {
        (
            devref(),
            devref(),
            prop_oneof![
                Just(Persistence::Persistent),
                Just(Persistence::PersistentOverflow)
            ],
            0u64..1 << 21,
            prop_oneof![
                Just(vec![]),
                Just(vec![SnapshotFeature::DiscardZeroesCow]),
                Just(vec![
                    SnapshotFeature::DiscardZeroesCow,
                    SnapshotFeature::DiscardPassdownOrigin
                ]),
            ],
        )
            .prop_map(
                |(origin, cow, persistence, chunk_size, features)| SnapshotArgs {
                    origin,
                    cow,
                    persistence,
                    chunk_size,
                    features,
                },
            )
    }

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![
            (devref(), any::<u64>()).prop_map(|(dev, offset)| Target::Linear { dev, offset }),
            (
                1u64..1024,
                prop::collection::vec((devref(), any::<u64>()), 1..5)
            )
                .prop_map(|(chunk_size, v)| Target::Striped {
                    chunk_size,
                    stripes: v
                        .into_iter()
                        .map(|(dev, offset)| Stripe { dev, offset })
                        .collect()
                }),
            Just(Target::Error),
            Just(Target::Zero),
            devref().prop_map(|origin| Target::SnapshotOrigin { origin }),
            snap_args().prop_map(Target::Snapshot),
            snap_args().prop_map(Target::SnapshotMerge),
        ]
    }

    proptest! {
        #[test]
        fn prop_round_trip(start in any::<u64>(), length in any::<u64>(), t in target()) {
            let l = TargetLine::new(start, length, t);
            let s = l.to_string();
            prop_assert_eq!(s.parse::<TargetLine>().unwrap(), l.clone());
            prop_assert_eq!(TargetLine::from_raw(&l.to_raw()).unwrap(), l);
        }

        #[test]
        fn prop_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<TargetLine>();
        }

        #[test]
        fn prop_words_never_panic(v in prop::collection::vec(
            prop_oneof![Just("0".to_string()), Just("8:1".to_string()), Just("P".to_string()),
                        Just("snapshot".to_string()), Just("striped".to_string()),
                        Just("linear".to_string()), Just("1".to_string()), Just("2".to_string()),
                        Just("snapshot-merge".to_string()), "[a-z0-9:]{1,6}"], 0..10)) {
            let _ = v.join(" ").parse::<TargetLine>();
        }
    }
}
