//! Identifier generation: `te_` execution ids and `de_` executor ids.

use rand::Rng;

/// The 56-symbol alphabet of every generated id: digits, then upper- and
/// lowercase ASCII letters without the easily confused `I`, `L`, `O`, `i`,
/// `l`, `o`.
pub(crate) const ALPHABET: &[u8; 56] = b"0123456789ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz";

/// Length of the random part of an execution id (≈ 139 bits).
const EXECUTION_ID_RANDOM_LEN: usize = 24;

/// Length of the random part of an executor id.
const EXECUTOR_ID_RANDOM_LEN: usize = 8;

fn random_id(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    for _ in 0..len {
        let symbol = ALPHABET[rng.random_range(0..ALPHABET.len())];
        id.push(char::from(symbol));
    }
    id
}

/// A new execution id: `te_` followed by 24 random symbols.
pub fn generate_execution_id() -> String {
    random_id("te_", EXECUTION_ID_RANDOM_LEN)
}

/// A new executor id: `de_` followed by 8 random symbols.
pub(crate) fn generate_executor_id() -> String {
    random_id("de_", EXECUTOR_ID_RANDOM_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn alphabet_has_56_unique_unambiguous_symbols() {
        let set: HashSet<u8> = ALPHABET.iter().copied().collect();
        assert_eq!(set.len(), 56);
        for ambiguous in [b'I', b'L', b'O', b'i', b'l', b'o'] {
            assert!(!set.contains(&ambiguous));
        }
        assert!(ALPHABET.iter().all(u8::is_ascii_alphanumeric));
    }

    #[test]
    fn execution_ids_have_prefix_length_and_alphabet() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let id = generate_execution_id();
            assert_eq!(id.len(), 27);
            assert!(id.starts_with("te_"));
            assert!(id[3..].bytes().all(|b| ALPHABET.contains(&b)));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn executor_ids_have_prefix_and_length() {
        let id = generate_executor_id();
        assert_eq!(id.len(), 11);
        assert!(id.starts_with("de_"));
    }
}
