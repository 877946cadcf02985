//! "Did you mean `X`?": the closest known key to a misspelt one, by edit distance (`strsim`'s
//! optimal string alignment distance). A suggestion is made only within a third of the key's
//! length (at least 1 edit), and the closest key wins.

/// The known key closest to `input`, if it is close enough to be a likely typo. Case and
/// `_`/`-` differences count as nothing (`status_socket_location` → `status-socket-location`).
pub(crate) fn did_you_mean<'a>(input: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let input = norm(input);
    known
        .iter()
        .map(|k| (levenshtein(&input, &norm(k)), *k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance between `a` and `b`: insertions, deletions, substitutions and transpositions of
/// adjacent characters (optimal string alignment, `strsim::osa_distance`), so `nmae` is 1 away
/// from `name`.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("instance", "instances"), 1);
        assert_eq!(levenshtein("nmae", "name"), 1);
    }

    #[test]
    fn suggestions() {
        let known = ["services", "status-socket-location", "publish", "log"];
        assert_eq!(did_you_mean("service", &known), Some("services"));
        assert_eq!(
            did_you_mean("status_socket_location", &known),
            Some("status-socket-location")
        );
        assert_eq!(
            did_you_mean("STATUS-SOCKET-LOCATON", &known),
            Some("status-socket-location")
        );
        assert_eq!(did_you_mean("logs", &known), Some("log"));
        assert_eq!(did_you_mean("lgo", &known), Some("log"));
        assert_eq!(did_you_mean("frobnicate", &known), None);
        assert_eq!(did_you_mean("x", &known), None);
    }
}
