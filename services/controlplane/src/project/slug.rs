//! Project slugs: two words and a random suffix, DNS-safe
//! (e.g. `nostalgic-jemison-kj2qx2nhkm`).

use rand::Rng;
use rand::seq::IndexedRandom;

const ADJECTIVES: &[&str] = &[
    "admiring",
    "affectionate",
    "amazing",
    "awesome",
    "blissful",
    "bold",
    "brave",
    "charming",
    "clever",
    "compassionate",
    "competent",
    "confident",
    "cool",
    "dazzling",
    "determined",
    "eager",
    "ecstatic",
    "elastic",
    "elegant",
    "eloquent",
    "epic",
    "exciting",
    "fervent",
    "festive",
    "focused",
    "friendly",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "great",
    "happy",
    "hopeful",
    "inspiring",
    "jolly",
    "jovial",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "magical",
    "modest",
    "nice",
    "nifty",
    "nostalgic",
    "optimistic",
    "peaceful",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "relaxed",
    "romantic",
    "serene",
    "sharp",
    "stoic",
    "sweet",
    "tender",
    "trusting",
    "upbeat",
    "vibrant",
    "vigilant",
    "wizardly",
    "wonderful",
    "youthful",
    "zealous",
    "zen",
];

const NAMES: &[&str] = &[
    "agnesi",
    "albattani",
    "allen",
    "archimedes",
    "babbage",
    "banach",
    "bardeen",
    "bartik",
    "bell",
    "bhabha",
    "blackwell",
    "bohr",
    "booth",
    "borg",
    "bose",
    "brahmagupta",
    "brown",
    "carson",
    "cerf",
    "chandrasekhar",
    "clarke",
    "curie",
    "darwin",
    "davinci",
    "dijkstra",
    "driscoll",
    "einstein",
    "elion",
    "engelbart",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hopper",
    "hypatia",
    "jemison",
    "joliot",
    "kalam",
    "kepler",
    "knuth",
    "lamport",
    "leavitt",
    "lovelace",
    "mayer",
    "mccarthy",
    "meitner",
    "mirzakhani",
    "newton",
    "noether",
    "pasteur",
    "perlman",
    "poincare",
    "ritchie",
    "shannon",
    "sinoussi",
    "swartz",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "wescoff",
    "wiles",
    "wozniak",
];

const SUFFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub fn generate() -> String {
    let mut rng = rand::rng();
    let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("keen");
    let name = NAMES.choose(&mut rng).copied().unwrap_or("turing");
    let suffix: String = (0..10)
        .map(|_| char::from(SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())]))
        .collect();
    format!("{adjective}-{name}-{suffix}")
}

/// A slug is one DNS label: lowercase letters, digits and inner hyphens.
pub fn is_valid(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 63
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_slugs_are_dns_labels_with_three_parts() {
        for _ in 0..200 {
            let slug = generate();
            assert!(is_valid(&slug), "{slug}");
            let parts: Vec<_> = slug.split('-').collect();
            assert_eq!(parts.len(), 3, "{slug}");
            assert_eq!(parts[2].len(), 10);
        }
        assert!(!is_valid("Upper"));
        assert!(!is_valid("-x"));
        assert!(!is_valid("a.b"));
    }
}
