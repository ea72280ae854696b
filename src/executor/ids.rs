//! Identifier generation: `te_` execution ids and `de_` executor ids.

use rand::Rng;

/// The 56-symbol alphabet of every generated id: digits, then upper- and
/// lowercase ASCII letters without the easily confused `I`, `L`, `O`, `i`,
/// `l`, `o`.
pub(crate) const ALPHABET: &[u8; 56] = b"0123456789ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz";

/// Length of the time prefix of an execution id: the creation time in
/// epoch milliseconds, base 56, most significant symbol first (56⁸ ms is
/// about 3,000 years).
const EXECUTION_ID_TIME_LEN: usize = 8;

/// Length of the random part of an execution id (16 symbols, ≈ 93 bits).
const EXECUTION_ID_RANDOM_LEN: usize = 16;

/// Length of the random part of an executor id.
const EXECUTOR_ID_RANDOM_LEN: usize = 8;

fn push_random(id: &mut String, len: usize) {
    let mut rng = rand::rng();
    for _ in 0..len {
        let symbol = ALPHABET[rng.random_range(0..ALPHABET.len())];
        id.push(char::from(symbol));
    }
}

fn random_id(prefix: &str, len: usize) -> String {
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    push_random(&mut id, len);
    id
}

/// `millis` in base 56 over [`ALPHABET`], `EXECUTION_ID_TIME_LEN` symbols,
/// most significant first: the alphabet is in ASCII order, so the strings
/// sort as the times do (a time before the epoch is 0; one past the range
/// is the greatest prefix).
fn push_time(id: &mut String, millis: u64) {
    let base = ALPHABET.len() as u64;
    let max = base.pow(EXECUTION_ID_TIME_LEN as u32) - 1;
    let mut rest = millis.min(max);
    let mut digits = [ALPHABET[0]; EXECUTION_ID_TIME_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(rest % base) as usize];
        rest /= base;
    }
    id.extend(digits.iter().map(|&d| char::from(d)));
}

/// A new execution id: `te_`, then 24 symbols of the id alphabet (digits
/// and letters without `I`, `L`, `O`, `i`, `l`, `o`): 8 that encode the
/// creation time (milliseconds) and 16 random ones (≈ 93 bits).
///
/// Ids created later sort after earlier ones (at millisecond granularity),
/// like ULIDs or UUIDv7: the rows a queue writes and retention deletes
/// together sit together in the execution-id index, instead of one index
/// page per row. The id therefore shows when its execution was created; it
/// is still unguessable. See `docs/design.md`, "Execution ids".
pub fn generate_execution_id() -> String {
    let millis = u64::try_from(crate::model::now_millis()).unwrap_or(0);
    let mut id = String::with_capacity(3 + EXECUTION_ID_TIME_LEN + EXECUTION_ID_RANDOM_LEN);
    id.push_str("te_");
    push_time(&mut id, millis);
    push_random(&mut id, EXECUTION_ID_RANDOM_LEN);
    id
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
        // The time prefix sorts as the time only because of this.
        assert!(ALPHABET.windows(2).all(|w| w[0] < w[1]));
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
    fn execution_ids_sort_by_creation_time() {
        let time = |millis| {
            let mut s = String::new();
            push_time(&mut s, millis);
            s
        };
        assert_eq!(time(0), "00000000");
        assert_eq!(time(55), "0000000z");
        assert_eq!(time(56), "00000010");
        assert_eq!(time(u64::MAX), "zzzzzzzz");
        let times = [0, 1, 55, 56, 1_000, 1_764_000_000_000, 1_999_999_999_999];
        for pair in times.windows(2) {
            assert!(time(pair[0]) < time(pair[1]), "{pair:?}");
        }
        let first = generate_execution_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = generate_execution_id();
        assert!(first < second, "{first} then {second}");
    }

    #[test]
    fn executor_ids_have_prefix_and_length() {
        let id = generate_executor_id();
        assert_eq!(id.len(), 11);
        assert!(id.starts_with("de_"));
    }
}
