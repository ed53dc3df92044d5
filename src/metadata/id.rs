//! LVM2 identifiers: 32 characters from a 64-character alphabet, shown as
//! 6-4-4-4-4-4-6 groups (`lib/id/id.c`). Pure; no I/O.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

/// The characters LVM2 accepts in an ID. Generated IDs use only the first 62.
pub const ID_ALPHABET: &[u8; 64] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#";
pub const ID_LEN: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub [u8; ID_LEN]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("UUID contains invalid character '{0}'")]
    InvalidChar(char),
    #[error("UUID {0} has wrong length (expected 32 characters without dashes)")]
    WrongLength(String),
}

impl Id {
    /// A fresh random ID the way LVM2 makes one (each byte mod 62).
    pub fn random() -> Id {
        let mut rng = rand::rng();
        let mut out = [0u8; ID_LEN];
        for c in out.iter_mut() {
            let b: u8 = rng.random();
            *c = ID_ALPHABET[(b % 62) as usize];
        }
        Id(out)
    }
    /// From the raw 32 bytes stored in a PV header.
    pub fn from_raw(raw: &[u8]) -> Result<Id, IdError> {
        if raw.len() != ID_LEN {
            return Err(IdError::WrongLength(String::from_utf8_lossy(raw).into()));
        }
        let mut out = [0u8; ID_LEN];
        for (o, &c) in out.iter_mut().zip(raw) {
            if !in_alphabet(c) {
                return Err(IdError::InvalidChar(c as char));
            }
            *o = c;
        }
        Ok(Id(out))
    }
    /// The 32 characters without dashes (PV header form, dm UUID form).
    pub fn as_raw_str(&self) -> &str {
        // The alphabet is ASCII, so this cannot fail for a constructed Id.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl FromStr for Id {
    type Err = IdError;
    /// Strips every `-` (LVM2 does not check their positions) and requires
    /// 32 characters from the alphabet.
    fn from_str(s: &str) -> Result<Id, IdError> {
        let mut out = [0u8; ID_LEN];
        // The form every ID is written in (6-4-4-4-4-4-6): each character
        // from its fixed place, checked by table (an LV's ID is read twice
        // per commit, a thousand LVs' on every command).
        if let Ok(b) = <&[u8; DASHED_LEN]>::try_from(s.as_bytes()) {
            if DASHES.iter().all(|&i| b[i] == b'-') {
                for (o, &i) in out.iter_mut().zip(DASHED_SOURCE.iter()) {
                    let c = b[i];
                    if !in_alphabet(c) {
                        return Err(IdError::InvalidChar(c as char));
                    }
                    *o = c;
                }
                return Ok(Id(out));
            }
        }
        let mut n = 0usize;
        for b in s.bytes().filter(|&b| b != b'-') {
            if !in_alphabet(b) {
                return Err(IdError::InvalidChar(b as char));
            }
            if let Some(o) = out.get_mut(n) {
                *o = b;
            }
            n += 1;
        }
        if n != ID_LEN {
            return Err(IdError::WrongLength(s.to_string()));
        }
        Ok(Id(out))
    }
}

/// Length of the dashed form, where its dashes are, and where each of
/// the 32 characters is in it.
const DASHED_LEN: usize = ID_LEN + 6;
const DASHES: [usize; 6] = [6, 11, 16, 21, 26, 31];
const DASHED_SOURCE: [usize; ID_LEN] = {
    let mut t = [0usize; ID_LEN];
    let (mut i, mut src, mut dash) = (0, 0, 0);
    while i < ID_LEN {
        if dash < DASHES.len() && src == DASHES[dash] {
            src += 1;
            dash += 1;
        }
        t[i] = src;
        i += 1;
        src += 1;
    }
    t
};

/// Whether each byte value is in [`ID_ALPHABET`].
const ALPHABET_TABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < ID_ALPHABET.len() {
        t[ID_ALPHABET[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `c` is in [`ID_ALPHABET`] (ASCII letters and digits, `!`, `#`),
/// without searching it.
fn in_alphabet(c: u8) -> bool {
    ALPHABET_TABLE[usize::from(c)]
}

impl fmt::Display for Id {
    /// The dashed 6-4-4-4-4-4-6 form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_raw_str();
        let groups = [6, 4, 4, 4, 4, 4, 6];
        let mut pos = 0;
        for (i, len) in groups.iter().enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(&s[pos..pos + len])?;
            pos += len;
        }
        Ok(())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_alphabet_is_the_alphabet() {
        for c in 0..=255u8 {
            assert_eq!(in_alphabet(c), ID_ALPHABET.contains(&c), "{c}");
            assert_eq!(ALPHABET_TABLE[usize::from(c)], in_alphabet(c), "{c}");
        }
    }

    #[test]
    fn dashed_round_trip() {
        let s = "P0EYBO-y6TL-8mpV-sIy7-7tr3-GiNE-IC4wDC";
        let id: Id = s.parse().unwrap();
        assert_eq!(id.to_string(), s);
        assert_eq!(id.as_raw_str(), "P0EYBOy6TL8mpVsIy77tr3GiNEIC4wDC");
    }

    #[test]
    fn rejects_bad_char_and_length() {
        assert_eq!(
            "P0EYBO-y6TL-8mpV-sIy7-7tr3-GiNE-IC4wD_".parse::<Id>(),
            Err(IdError::InvalidChar('_'))
        );
        assert!("abc".parse::<Id>().is_err());
    }

    /// The dashed form (read whole) and any other placing of dashes
    /// (read byte by byte) give the same ID or the same error.
    #[test]
    fn dashed_form_reads_as_any_other() {
        let raw = "P0EYBOy6TL8mpVsIy77tr3GiNEIC4wDC";
        for bad in [None, Some(0), Some(9), Some(31)] {
            let mut r = raw.as_bytes().to_vec();
            if let Some(i) = bad {
                r[i] = b'%';
            }
            let r = String::from_utf8(r).unwrap();
            let dashed = format!(
                "{}-{}-{}-{}-{}-{}-{}",
                &r[..6],
                &r[6..10],
                &r[10..14],
                &r[14..18],
                &r[18..22],
                &r[22..26],
                &r[26..]
            );
            let elsewhere = format!("{}-{}", &r[..3], &r[3..]);
            assert_eq!(dashed.parse::<Id>(), elsewhere.parse::<Id>(), "{dashed}");
            assert_eq!(dashed.parse::<Id>(), r.parse::<Id>(), "{dashed}");
            assert_eq!(dashed.parse::<Id>().is_ok(), bad.is_none(), "{dashed}");
        }
        assert!("P0EYBO-y6TL-8mpV-sIy7-7tr3-GiNE-IC4wDCx"
            .parse::<Id>()
            .is_err());
        assert!("P0EYBO-y6TL-8mpV-sIy7-7tr3-GiNE-IC4wD"
            .parse::<Id>()
            .is_err());
    }

    #[test]
    fn random_ids_use_62_chars() {
        for _ in 0..50 {
            let id = Id::random();
            assert!(id.0.iter().all(|c| c.is_ascii_alphanumeric()));
            assert_eq!(id.to_string().parse::<Id>().unwrap(), id);
        }
    }
}
