//! Path globs and fuzzy name matching with chisel's semantics.
//!
//! Chisel slice definitions name paths with a deliberately small glob
//! language: `?` is one character other than `/`, `*` is any run of
//! characters other than `/`, and `**` is any run of characters at all.
//! There are no character classes and no escapes, so every other character
//! is literal. Directories are spelled with a trailing `/`.
//!
//! Everything here is simulated as a non-deterministic automaton over
//! pattern positions instead of a backtracking matcher, so the cost is
//! bounded by the product of the input lengths whatever the pattern shape.

/// One unit of a pattern after `*` runs have been grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `**`
    DoubleStar,
}

impl Token {
    /// Whether the token may stand for the empty string; such tokens also
    /// loop on every character they accept instead of advancing.
    fn is_star(self) -> bool {
        matches!(self, Token::Star | Token::DoubleStar)
    }

    /// Whether this token can consume `c` under path-glob rules.
    fn accepts(self, c: char) -> bool {
        match self {
            Token::Literal(l) => l == c,
            Token::One | Token::Star => c != '/',
            Token::DoubleStar => true,
        }
    }

    /// Pattern position after consuming one character at `pos`.
    fn advance(self, pos: usize) -> usize {
        if self.is_star() {
            pos
        } else {
            pos + 1
        }
    }
}

/// Splits a pattern into tokens, reading `**` greedily so that `***` is
/// `**` followed by `*` (which together mean the same as `**`).
struct Tokens<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

fn tokens(pattern: &str) -> Tokens<'_> {
    Tokens {
        chars: pattern.chars().peekable(),
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let token = match self.chars.next()? {
            '?' => Token::One,
            '*' => {
                if self.chars.next_if_eq(&'*').is_some() {
                    Token::DoubleStar
                } else {
                    Token::Star
                }
            }
            c => Token::Literal(c),
        };
        Some(token)
    }
}

/// Reports whether `path` contains glob syntax.
///
/// Chisel only treats `*` and `?` as special, so anything else is a plain
/// path that can be compared (and extracted) directly.
#[must_use]
pub(crate) fn is_glob(path: &str) -> bool {
    memchr::memchr2(b'*', b'?', path.as_bytes()).is_some()
}

/// Returns the part of `pattern` before its first `*` or `?`, or the whole
/// pattern when it has no wildcard.
///
/// Every path the pattern matches starts with this prefix, which makes it a
/// cheap pre-filter and tells which directory a glob is rooted in.
#[must_use]
pub(crate) fn literal_prefix(pattern: &str) -> &str {
    // Wildcards are ASCII: searched as bytes (the hot path of validating a release and of
    // matching a package's entries), the position found is a char boundary.
    let end = memchr::memchr2(b'*', b'?', pattern.as_bytes()).unwrap_or(pattern.len());
    &pattern[..end]
}

/// The part of `pattern` after its last wildcard; every match ends with it.
fn literal_suffix(pattern: &str) -> &str {
    // Wildcards are ASCII, so the byte after one is a char boundary.
    let start = memchr::memrchr2(b'*', b'?', pattern.as_bytes()).map_or(0, |i| i + 1);
    &pattern[start..]
}

/// Marks every position reachable from an already-marked one by letting
/// star tokens match nothing.
///
/// One forward sweep suffices because these moves only go forward.
fn close_over_empty_stars(pattern: &[Token], states: &mut [bool]) {
    for (i, token) in pattern.iter().enumerate() {
        if states[i] && token.is_star() {
            states[i + 1] = true;
        }
    }
}

/// Reports whether `path` matches the chisel glob `pattern` in full.
///
/// `?` matches one character other than `/`, `*` any run of characters
/// other than `/`, and `**` any run at all; everything else is literal. So
/// `/a/*` matches `/a/file` but not the directory `/a/sub/`, while `/a/**`
/// matches `/a/` and everything below it. Matching simulates all pattern
/// positions at once, so it takes O(pattern × path) time and never
/// backtracks exponentially. To match one pattern against many paths,
/// compile it once with [`Glob::new`].
#[must_use]
pub(crate) fn glob_match(pattern: &str, path: &str) -> bool {
    if !is_glob(pattern) {
        return pattern == path;
    }
    let ends = (literal_prefix(pattern).len(), literal_suffix(pattern).len());
    // The ends first: most paths fail there, before any token is made.
    let Some(text) = between_ends(pattern, ends, path) else {
        return false;
    };
    let middle: Vec<Token> = tokens(&pattern[ends.0..pattern.len() - ends.1]).collect();
    run_middle(&middle, text)
}

/// A pattern compiled for matching many paths (a package's every entry): its literal ends are
/// compared as bytes, and the automaton runs only over the part of the path between them.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    pattern: String,
    /// Byte lengths of the literal prefix and suffix; `None` for a pattern without wildcards,
    /// which matches itself only.
    ends: Option<(usize, usize)>,
    /// The tokens between the literal ends: they start and end with a wildcard.
    middle: Vec<Token>,
}

impl Glob {
    #[must_use]
    pub(crate) fn new(pattern: &str) -> Glob {
        if !is_glob(pattern) {
            return Glob {
                pattern: pattern.to_owned(),
                ends: None,
                middle: Vec::new(),
            };
        }
        let prefix = literal_prefix(pattern).len();
        let suffix = literal_suffix(pattern).len();
        Glob {
            pattern: pattern.to_owned(),
            ends: Some((prefix, suffix)),
            middle: tokens(&pattern[prefix..pattern.len() - suffix]).collect(),
        }
    }

    /// Whether `path` matches the pattern in full (see [`glob_match`]).
    #[must_use]
    pub(crate) fn matches(&self, path: &str) -> bool {
        let Some(ends) = self.ends else {
            return self.pattern == path;
        };
        between_ends(&self.pattern, ends, path).is_some_and(|text| run_middle(&self.middle, text))
    }
}

/// The part of `path` between the literal prefix and suffix of `pattern` (their byte lengths
/// `ends`), or `None` when the path does not start and end with them. The literal tokens at
/// either end consume one character each, so every match lines them up with the path's first
/// and last characters: only the middle is left to the automaton. Both cut points are char
/// boundaries, being the ends of whole UTF-8 strings the path starts and ends with.
fn between_ends<'p>(
    pattern: &str,
    (prefix, suffix): (usize, usize),
    path: &'p str,
) -> Option<&'p str> {
    let (pattern, bytes) = (pattern.as_bytes(), path.as_bytes());
    let fits = bytes.len() >= prefix + suffix
        && bytes.starts_with(&pattern[..prefix])
        && bytes.ends_with(&pattern[pattern.len() - suffix..]);
    fits.then(|| &path[prefix..path.len() - suffix])
}

/// Whether `text` matches `middle`, the tokens between a pattern's literal ends.
fn run_middle(middle: &[Token], text: &str) -> bool {
    match middle {
        [Token::Star] => memchr::memchr(b'/', text.as_bytes()).is_none(),
        [Token::DoubleStar] => true,
        middle if middle.len() < 128 => run_in_bits(middle, text),
        middle => run_in_vectors(middle, text),
    }
}

/// The automaton over `pattern`'s positions with its states as the bits of one word: few
/// states are ever live at once, and only those are visited for each character.
fn run_in_bits(pattern: &[Token], text: &str) -> bool {
    debug_assert!(pattern.len() < 128);
    let stars = pattern
        .iter()
        .enumerate()
        .filter(|(_, token)| token.is_star())
        .fold(0u128, |mask, (i, _)| mask | 1 << i);
    // Stars may match nothing: each live star position also makes the next one live, in
    // chains as long as the run of stars.
    let close = |mut states: u128| loop {
        let added = (states & stars) << 1;
        if added & !states == 0 {
            return states;
        }
        states |= added;
    };
    let end = 1u128 << pattern.len();
    let mut current = close(1);
    for c in text.chars() {
        let mut next = 0u128;
        let mut live = current & (end - 1);
        while live != 0 {
            let i = live.trailing_zeros() as usize;
            live &= live - 1;
            let token = pattern[i];
            if token.accepts(c) {
                next |= 1 << token.advance(i);
            }
        }
        if next == 0 {
            return false;
        }
        current = close(next);
    }
    current & end != 0
}

/// The same automaton for a pattern too long for one word, its states in two vectors.
fn run_in_vectors(pattern: &[Token], text: &str) -> bool {
    let mut current = vec![false; pattern.len() + 1];
    let mut next = vec![false; pattern.len() + 1];
    current[0] = true;
    close_over_empty_stars(pattern, &mut current);
    for c in text.chars() {
        next.fill(false);
        let mut alive = false;
        for (i, token) in pattern.iter().enumerate() {
            if current[i] && token.accepts(c) {
                next[token.advance(i)] = true;
                alive = true;
            }
        }
        if !alive {
            return false;
        }
        close_over_empty_stars(pattern, &mut next);
        std::mem::swap(&mut current, &mut next);
    }
    current[pattern.len()]
}

/// Whether some single character can be consumed by both tokens.
fn tokens_share_char(a: Token, b: Token) -> bool {
    match (a, b) {
        (Token::Literal(x), Token::Literal(y)) => x == y,
        (Token::Literal(c), Token::One | Token::Star)
        | (Token::One | Token::Star, Token::Literal(c)) => c != '/',
        // `**` accepts everything, and `?`/`*` pairs share any non-`/`.
        _ => true,
    }
}

/// Reports whether at least one path matches both globs `a` and `b`.
///
/// Chisel refuses a release where two packages' slices claim overlapping
/// paths unless their contents agree, and a glob such as `/file/f*obar`
/// conflicts with `/file/foob*r` because `/file/foobar` matches both. The
/// answer is exact: it searches the product of both patterns' automata for
/// a path from the start to both ends, visiting each pair of positions at
/// most once, so it runs in O(len(a) × len(b)).
#[must_use]
pub(crate) fn globs_overlap(a: &str, b: &str) -> bool {
    match (is_glob(a), is_glob(b)) {
        (false, false) => return a == b,
        (true, false) => return glob_match(a, b),
        (false, true) => return glob_match(b, a),
        (true, true) => {}
    }
    // Any common match starts with both literal prefixes and ends with both
    // literal suffixes, so the shorter of each pair must agree with the
    // longer; most unrelated globs fail here without building automata.
    let prefixes_agree = literal_prefix(a)
        .chars()
        .zip(literal_prefix(b).chars())
        .all(|(x, y)| x == y);
    let suffixes_agree = literal_suffix(a)
        .chars()
        .rev()
        .zip(literal_suffix(b).chars().rev())
        .all(|(x, y)| x == y);
    if !prefixes_agree || !suffixes_agree {
        return false;
    }
    let a: Vec<Token> = tokens(a).collect();
    let b: Vec<Token> = tokens(b).collect();
    product_reaches_end(&a, &b)
}

/// Depth-first search over pairs of pattern positions `(i, j)`, where a
/// pair is reachable when some string takes `a` to `i` and `b` to `j`.
fn product_reaches_end(a: &[Token], b: &[Token]) -> bool {
    let width = b.len() + 1;
    let mut visited = vec![false; (a.len() + 1) * width];
    let mut stack = vec![(0, 0)];
    visited[0] = true;
    while let Some((i, j)) = stack.pop() {
        if i == a.len() && j == b.len() {
            return true;
        }
        let ta = a.get(i).copied();
        let tb = b.get(j).copied();
        let mut successors = [None; 3];
        if ta.is_some_and(Token::is_star) {
            successors[0] = Some((i + 1, j));
        }
        if tb.is_some_and(Token::is_star) {
            successors[1] = Some((i, j + 1));
        }
        if let (Some(ta), Some(tb)) = (ta, tb) {
            if tokens_share_char(ta, tb) {
                successors[2] = Some((ta.advance(i), tb.advance(j)));
            }
        }
        for (ni, nj) in successors.into_iter().flatten() {
            let seen = &mut visited[ni * width + nj];
            if !*seen {
                *seen = true;
                stack.push((ni, nj));
            }
        }
    }
    false
}

/// Edit costs are capped here: only "at most one edit" matters, and
/// capping keeps the rows in `u8` without overflow.
const FUZZY_CAP: u8 = 2;

/// Reports whether `term` is within one edit of `target`, the way chisel's
/// `find` command matches search terms against package and slice names.
///
/// Substituting, inserting or deleting a character costs one. In the term,
/// `*` (and `**`, which means the same here) absorbs any run of target
/// characters for free, `/` included because names are not paths; `?`
/// stands for exactly one target character for free. The distance is the
/// usual edit-distance table, computed a term token at a time and
/// abandoned as soon as a whole row exceeds one.
#[must_use]
pub(crate) fn fuzzy_match(term: &str, target: &str) -> bool {
    let columns = target.chars().count() + 1;
    // Row for the empty term prefix: each target character is an insertion.
    let mut previous: Vec<u8> = (0..columns)
        .map(|j| u8::try_from(j).map_or(FUZZY_CAP, |j| j.min(FUZZY_CAP)))
        .collect();
    let mut current = vec![0_u8; columns];
    for token in tokens(term) {
        if token.is_star() {
            // The star may end after any prefix of what is left, so each
            // cell takes the best cost of any earlier column above it.
            current[0] = previous[0];
            for j in 1..columns {
                current[j] = previous[j].min(current[j - 1]);
            }
        } else {
            let bump = |cost: u8| (cost + 1).min(FUZZY_CAP);
            current[0] = bump(previous[0]);
            for (j, c) in target.chars().enumerate() {
                let substitution = if token == Token::One || token == Token::Literal(c) {
                    previous[j]
                } else {
                    bump(previous[j])
                };
                let deletion = bump(previous[j + 1]);
                let insertion = bump(current[j]);
                current[j + 1] = substitution.min(deletion).min(insertion);
            }
        }
        if current.iter().all(|&cost| cost > 1) {
            return false;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[columns - 1] <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct transcription of the glob rules as a backtracking matcher over
    /// raw characters; exponential, but independent of the tokenizer and
    /// automaton above, which is what makes it a useful oracle.
    fn reference_match(pattern: &[char], path: &[char]) -> bool {
        match pattern {
            [] => path.is_empty(),
            ['*', '*', rest @ ..] => (0..=path.len()).any(|k| reference_match(rest, &path[k..])),
            ['*', rest @ ..] => (0..=path.len())
                .take_while(|&k| k == 0 || path[k - 1] != '/')
                .any(|k| reference_match(rest, &path[k..])),
            ['?', rest @ ..] => {
                matches!(path.first(), Some(&c) if c != '/') && reference_match(rest, &path[1..])
            }
            [c, rest @ ..] => path.first() == Some(c) && reference_match(rest, &path[1..]),
        }
    }

    /// Plain recursive edit distance with the fuzzy wildcard rules, treating
    /// each `*` character as its own free star (equivalent to grouping).
    fn reference_distance(term: &[char], target: &[char]) -> usize {
        match term {
            [] => target.len(),
            ['*', rest @ ..] => (0..=target.len())
                .map(|k| reference_distance(rest, &target[k..]))
                .min()
                .unwrap_or(usize::MAX),
            [t, rest @ ..] => {
                let deletion = 1 + reference_distance(rest, target);
                match target {
                    [] => deletion,
                    [c, target_rest @ ..] => {
                        let insertion = 1 + reference_distance(term, target_rest);
                        let cost = usize::from(*t != '?' && t != c);
                        let substitution = cost + reference_distance(rest, target_rest);
                        deletion.min(insertion).min(substitution)
                    }
                }
            }
        }
    }

    /// Every string over `alphabet` with up to `max_len` characters, shortest
    /// first.
    fn all_strings(alphabet: &[&str], max_len: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..max_len {
            layer = layer
                .iter()
                .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
                .collect();
            out.extend(layer.iter().cloned());
        }
        out
    }

    /// Tiny deterministic xorshift generator so property tests are
    /// reproducible without external crates.
    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n as u64).unwrap()
        }
    }

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(glob_match("/usr/lib/", "/usr/lib/"));
        assert!(glob_match("", ""));
        assert!(!glob_match("/usr/lib", "/usr/lib/"));
        assert!(!glob_match("/usr/lib/", "/usr/lib"));
        assert!(!glob_match("/a", "/b"));
    }

    #[test]
    fn question_mark_is_one_non_slash_char() {
        assert!(glob_match("/x/?", "/x/a"));
        assert!(!glob_match("/x/?", "/x/"));
        assert!(!glob_match("/x/?", "/x/ab"));
        assert!(!glob_match("/x?y", "/x/y"));
        assert!(glob_match("/x/??", "/x/ab"));
    }

    #[test]
    fn question_mark_consumes_a_whole_utf8_char() {
        assert!(glob_match("/x/?", "/x/é"));
        assert!(glob_match("/x/?.txt", "/x/日.txt"));
        assert!(!glob_match("/x/?", "/x/日本"));
        assert!(glob_match("/x/??", "/x/日本"));
    }

    #[test]
    fn star_stays_within_one_component() {
        assert!(glob_match("/a/*", "/a/file"));
        assert!(glob_match("/a/*", "/a/"));
        assert!(!glob_match("/a/*", "/a/sub/"));
        assert!(!glob_match("/a/*", "/a/sub/file"));
        assert!(glob_match("/a/*/", "/a/sub/"));
        assert!(glob_match(
            "/usr/lib/*-linux-*/libc.so.*",
            "/usr/lib/x86_64-linux-gnu/libc.so.6"
        ));
        assert!(glob_match("/a/*b*", "/a/b"));
        assert!(!glob_match("/a/*b*", "/a/ccc"));
    }

    #[test]
    fn double_star_crosses_components() {
        assert!(glob_match("/a/**", "/a/"));
        assert!(glob_match("/a/**", "/a/x"));
        assert!(glob_match("/a/**", "/a/x/y/"));
        assert!(!glob_match("/a/**", "/a"));
        assert!(!glob_match("/a/**", "/b/x"));
        assert!(glob_match("/dir/nested**", "/dir/nested/"));
        assert!(glob_match("/dir/nested**", "/dir/nested-x/y/z"));
        assert!(glob_match("/dir/nested**", "/dir/nested"));
        assert!(glob_match("/**/other-f*e", "/a/b/other-file"));
        assert!(glob_match("/**/other-f*e", "//other-fe"));
        assert!(!glob_match("/**/other-f*e", "/a/other-f/e"));
        assert!(glob_match("/**", "/"));
        assert!(glob_match("**", ""));
    }

    #[test]
    fn triple_star_behaves_like_double_star() {
        assert!(glob_match("/a/***", "/a/b/c"));
        assert!(glob_match("/a/***x", "/a/b/x"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let mut long = String::from("/");
        for _ in 0..2_000 {
            long.push_str("a/");
        }
        long.push_str(&"a".repeat(5_000));
        let pattern = "/**/**/**/**/*a*a*a*a*b";
        assert!(!glob_match(pattern, &long));
        long.push('b');
        assert!(glob_match(pattern, &long));
        let stars = "*a".repeat(200) + "b";
        assert!(!glob_match(&stars, &"a".repeat(10_000)));
        assert!(!globs_overlap(&stars, &"*a".repeat(300)));
        assert!(globs_overlap(&stars, &("*a".repeat(300) + "*")));
    }

    #[test]
    fn glob_match_agrees_with_reference() {
        let patterns = all_strings(&["a", "b", "/", "*", "?", "**"], 4);
        let paths = all_strings(&["a", "b", "/"], 5);
        for pattern in &patterns {
            let pattern_chars: Vec<char> = pattern.chars().collect();
            for path in &paths {
                let path_chars: Vec<char> = path.chars().collect();
                assert_eq!(
                    glob_match(pattern, path),
                    reference_match(&pattern_chars, &path_chars),
                    "pattern {pattern:?} path {path:?}"
                );
            }
        }
    }

    /// Patterns of 128 tokens and more run in vectors, shorter ones in one word: both agree
    /// with the reference (on shapes it answers without exponential backtracking), and with
    /// each other on every short pattern.
    #[test]
    fn long_patterns_agree_with_the_reference() {
        for repeat in [60, 63, 64, 70] {
            for (head, tail) in [("*", "*"), ("**", "?"), ("?", "**"), ("*/", "")] {
                let pattern = format!("/x{head}{}{tail}", "a?".repeat(repeat));
                let pattern_chars: Vec<char> = pattern.chars().collect();
                for path in [
                    format!("/x{}", "ab".repeat(repeat)),
                    format!("/xz{}c", "ab".repeat(repeat)),
                    format!("/xz/{}c", "ab".repeat(repeat)),
                    format!("/x/z/{}/", "ab".repeat(repeat)),
                    format!("/x{}", "ab".repeat(repeat - 1)),
                    format!("/x{}/", "a/".repeat(repeat)),
                ] {
                    let path_chars: Vec<char> = path.chars().collect();
                    assert_eq!(
                        Glob::new(&pattern).matches(&path),
                        reference_match(&pattern_chars, &path_chars),
                        "pattern {pattern:?} path {path:?}"
                    );
                }
            }
        }
        let patterns = all_strings(&["a", "/", "*", "?", "**"], 4);
        let paths = all_strings(&["a", "/"], 5);
        for pattern in &patterns {
            let tokens: Vec<Token> = tokens(pattern).collect();
            for path in &paths {
                assert_eq!(
                    run_in_bits(&tokens, path),
                    run_in_vectors(&tokens, path),
                    "pattern {pattern:?} path {path:?}"
                );
            }
        }
    }

    #[test]
    fn a_compiled_glob_keeps_multibyte_ends_whole() {
        let glob = Glob::new("/é*ü/");
        assert!(glob.matches("/éü/"));
        assert!(glob.matches("/éaü/"));
        assert!(!glob.matches("/é/ü/"));
        assert!(!glob.matches("/ü/"));
        // The ends overlap in bytes: too short to hold both.
        assert!(!Glob::new("/ab*ba").matches("/aba"));
        assert!(Glob::new("/ab*ba").matches("/abba"));
        assert!(Glob::new("/plain").matches("/plain"));
        assert!(!Glob::new("/plain").matches("/plain/"));
    }

    #[test]
    fn is_glob_and_literal_prefix() {
        assert!(is_glob("/a/*"));
        assert!(is_glob("/a/?"));
        assert!(!is_glob("/a/b/"));
        assert!(!is_glob(""));
        assert_eq!(literal_prefix("/usr/lib/*-linux-*/"), "/usr/lib/");
        assert_eq!(literal_prefix("/x/?y*"), "/x/");
        assert_eq!(literal_prefix("/plain/path"), "/plain/path");
        assert_eq!(literal_prefix("**"), "");
        assert_eq!(literal_prefix("/é/?"), "/é/");
        assert_eq!(literal_suffix("/x/*.so"), ".so");
        assert_eq!(literal_suffix("/x/*"), "");
        assert_eq!(literal_suffix("/x/y"), "/x/y");
    }

    #[test]
    fn overlap_examples() {
        assert!(globs_overlap("/file/f*obar", "/file/foob*r"));
        assert!(!globs_overlap("/a/*", "/a/b/"));
        assert!(globs_overlap("/a/**", "/a/b/c"));
        assert!(globs_overlap("/a/*", "/a/**"));
        assert!(globs_overlap(
            "/usr/lib/*-linux-*/",
            "/usr/lib/x86_64-linux-gnu/"
        ));
        assert!(!globs_overlap("/x/?", "/x/ab"));
        assert!(!globs_overlap("/x/*.so", "/x/*.a"));
        assert!(globs_overlap("/x/**.so", "/x/y/z.so"));
        assert!(!globs_overlap("/a/b*", "/a/c*"));
        assert!(!globs_overlap("/a**", "/b"));
        assert!(!globs_overlap("/x/?", "/x/"));
        assert!(!globs_overlap("/x/?", "/x/?/"));
        assert!(globs_overlap("/x/?*", "/x/*?"));
        assert!(!globs_overlap("/x/*/", "/x/?"));
        assert!(globs_overlap("/x/*/y", "/x/**y"));
        assert!(!globs_overlap("/x/*y", "/x/a/y"));
    }

    #[test]
    fn overlap_is_symmetric_and_reflexive() {
        let globs = [
            "/a/*",
            "/a/**",
            "/file/f*obar",
            "/x/?",
            "/usr/lib/*-linux-*/",
            "/plain",
            "**",
        ];
        for a in globs {
            assert!(globs_overlap(a, a), "{a:?}");
            for b in globs {
                assert_eq!(globs_overlap(a, b), globs_overlap(b, a), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn root_double_star_overlaps_every_absolute_path() {
        for path in ["/", "/a", "/a/b/", "/usr/lib/*-linux-*/", "/x/?", "/**"] {
            assert!(globs_overlap("/**", path), "{path:?}");
        }
        assert!(!globs_overlap("/**", "relative"));
    }

    /// Number of tokens in `pattern` that consume exactly one character.
    fn fixed_width_tokens(pattern: &str) -> usize {
        tokens(pattern).filter(|t| !t.is_star()).count()
    }

    fn has_star(pattern: &str) -> bool {
        tokens(pattern).any(Token::is_star)
    }

    /// Length of the longest string a shortest common match of `p` and `q`
    /// can need.
    ///
    /// Take any common match and each pattern's way of matching it. A
    /// character that both patterns consume with star tokens can be deleted
    /// and both still match, so a shortest common match has each character
    /// consumed by a fixed-width token (`?` or literal) of at least one side:
    /// its length is at most the sum of their fixed-width token counts. A
    /// pattern with no star matches strings of exactly its token count only.
    /// With at most four tokens per pattern the bound is therefore at most 6:
    /// either a side has no star (length ≤ 4) or both have at most 3
    /// fixed-width tokens.
    fn witness_bound(p: &str, q: &str) -> usize {
        match (has_star(p), has_star(q)) {
            (false, _) => fixed_width_tokens(p),
            (_, false) => fixed_width_tokens(q),
            (true, true) => fixed_width_tokens(p) + fixed_width_tokens(q),
        }
    }

    #[test]
    fn overlap_agrees_with_brute_force() {
        const TOKENS: [&str; 6] = ["a", "b", "/", "*", "?", "**"];
        let patterns = all_strings(&TOKENS, 4);
        let strings = all_strings(&["a", "b", "/"], 6);
        let words = strings.len().div_ceil(64);
        // Bitset of the strings each pattern matches, so a pair's brute
        // force answer is one AND of two rows.
        let matches: Vec<Vec<u64>> = patterns
            .iter()
            .map(|p| {
                let mut bits = vec![0_u64; words];
                for (k, s) in strings.iter().enumerate() {
                    if glob_match(p, s) {
                        bits[k / 64] |= 1 << (k % 64);
                    }
                }
                bits
            })
            .collect();
        let check = |x: usize, y: usize| {
            let (p, q) = (&patterns[x], &patterns[y]);
            assert!(witness_bound(p, q) <= 6, "{p:?} {q:?}");
            let brute = matches[x].iter().zip(&matches[y]).any(|(l, r)| l & r != 0);
            assert_eq!(globs_overlap(p, q), brute, "{p:?} vs {q:?}");
        };
        // Every pair of patterns of up to three tokens...
        let small: usize = (0..=3).map(|k| TOKENS.len().pow(k)).sum();
        for x in 0..small {
            for y in 0..small {
                check(x, y);
            }
        }
        // ...and a deterministic sample of pairs of up to four tokens.
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..50_000 {
            check(rng.below(patterns.len()), rng.below(patterns.len()));
        }
    }

    #[test]
    fn fuzzy_examples() {
        assert!(fuzzy_match("opensl", "openssl"));
        assert!(fuzzy_match("openssl", "openssl"));
        assert!(!fuzzy_match("opnsl", "openssl"));
        assert!(fuzzy_match("libssl*", "libssl3t64"));
        assert!(fuzzy_match("libssl*", "libisl23"));
        assert!(fuzzy_match("libssl*", "libnsl2"));
        assert!(!fuzzy_match("config", "ca-certificates"));
        assert!(fuzzy_match("ca-cert*", "ca-certificates-java"));
        assert!(fuzzy_match("?pen", "open"));
        assert!(fuzzy_match("*", ""));
        assert!(fuzzy_match("", "a"));
        assert!(!fuzzy_match("", "ab"));
        assert!(fuzzy_match("", ""));
    }

    #[test]
    fn fuzzy_wildcards() {
        assert!(fuzzy_match("**", "a/b/c"));
        assert!(fuzzy_match("a*c", "a/x/c"));
        assert!(fuzzy_match("libc6_*", "libc6_libs"));
        assert!(fuzzy_match("?", ""));
        assert!(!fuzzy_match("??", ""));
        assert!(fuzzy_match("??", "abc"));
        assert!(!fuzzy_match("??", "abcd"));
        assert!(fuzzy_match("a?c", "abbc"));
        assert!(fuzzy_match("?", "é"));
        assert!(fuzzy_match("caf?", "café"));
        assert!(!fuzzy_match("*x*y*", "abc"));
        assert!(fuzzy_match("*x*y*", "abyc"));
    }

    #[test]
    fn fuzzy_agrees_with_reference() {
        let terms = all_strings(&["a", "b", "*", "?"], 4);
        let targets = all_strings(&["a", "b", "/"], 5);
        for term in &terms {
            let term_chars: Vec<char> = term.chars().collect();
            for target in &targets {
                let target_chars: Vec<char> = target.chars().collect();
                assert_eq!(
                    fuzzy_match(term, target),
                    reference_distance(&term_chars, &target_chars) <= 1,
                    "term {term:?} target {target:?}"
                );
            }
        }
    }
}
