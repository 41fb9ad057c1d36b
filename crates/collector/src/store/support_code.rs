//! Support codes: six characters a user reads out over the phone, shown as `K7P-4QX`.

use std::fmt;

use rand::RngExt;
use serde::{Serialize, Serializer};

/// Digits and consonants only: no 0/O, 1/I/L to mix up when read aloud or typed, and no vowels
/// (nor Y) so a code never spells a word.
const ALPHABET: &[u8; 27] = b"23456789BCDFGHJKMNPQRSTVWXZ";
const LENGTH: usize = 6;

/// A support code, kept in its compact form (`K7P4QX`); displayed with a dash in the middle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SupportCode(String);

impl SupportCode {
    pub fn random() -> SupportCode {
        let mut rng = rand::rng();
        let code = (0..LENGTH)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        SupportCode(code)
    }

    /// Reads a code as people type it: any case, with or without the dash or spaces.
    pub fn parse(input: &str) -> Option<SupportCode> {
        let compact: String = input
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid = compact.len() == LENGTH && compact.bytes().all(|b| ALPHABET.contains(&b));
        valid.then_some(SupportCode(compact))
    }

    /// The form stored in the database: `K7P4QX`.
    pub fn compact(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SupportCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, second) = self.0.split_at(LENGTH / 2);
        write!(f, "{first}-{second}")
    }
}

impl Serialize for SupportCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_codes_use_only_the_alphabet_and_print_with_a_dash() {
        for _ in 0..200 {
            let code = SupportCode::random();
            let shown = code.to_string();
            assert_eq!(shown.len(), 7, "{shown}");
            assert_eq!(&shown[3..4], "-");
            assert_eq!(SupportCode::parse(&shown), Some(code));
        }
    }

    #[test]
    fn parse_accepts_what_people_type_and_refuses_ambiguous_characters() {
        let expected = Some(SupportCode("K7P4QX".to_string()));
        assert_eq!(SupportCode::parse("K7P-4QX"), expected);
        assert_eq!(SupportCode::parse("k7p4qx"), expected);
        assert_eq!(SupportCode::parse(" k7p 4qx "), expected);
        for bad in [
            "K7P-4Q", "K7P-4QXX", "K7P-4Q0", "K7P-4QO", "K7P-4Q1", "K7P-4QI", "K7P-4QL", "K7P-4QA",
            "",
        ] {
            assert_eq!(SupportCode::parse(bad), None, "{bad}");
        }
    }
}
