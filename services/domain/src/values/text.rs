//! Free text and short codes from outside: trimmed, bounded, no control or
//! bidirectional characters, and never anything shaped like a resident ID
//! (free text is not sealed at rest nor withheld on NATS).

use super::{ResidentId, ValueError};

/// Trims `raw` and checks it has `min..=max` characters, no control
/// characters and nothing shaped like a resident ID: free text is not sealed
/// at rest nor withheld on NATS, so a person is named by the case id, never
/// by their resident ID, in a note, a reason or an id.
pub fn text(raw: &str, min: usize, max: usize) -> Result<String, ValueError> {
    let s = raw.trim();
    let n = s.chars().count();
    if n < min {
        return Err(ValueError::new(if min == 1 {
            "is required".to_string()
        } else {
            format!("needs at least {min} characters")
        }));
    }
    if n > max {
        return Err(ValueError::new(format!("must be at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(ValueError::new("must not contain control characters"));
    }
    if contains_resident_id(s) {
        return Err(ValueError::new(
            "must not contain a resident ID (18 characters with a valid GB 11643 check character): refer to the person by the case id",
        ));
    }
    Ok(s.to_string())
}

/// The extra rule for text a client sends now: no Unicode bidirectional
/// embedding, override or isolate controls (U+202A–U+202E, U+2066–U+2069).
/// They are invisible and make a name or note display in another order than
/// it reads (the "Trojan Source" trick, on a caseworker's screen or an
/// auditor's replay). Only new input is held to it: stored facts are read
/// with [`text`] alone, so a fact recorded before the rule still reads.
/// Returns `raw` unchanged.
pub fn input(raw: &str) -> Result<&str, ValueError> {
    if raw.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
        return Err(ValueError::new(
            "must not contain bidirectional control characters (U+202A to U+202E, U+2066 to U+2069)",
        ));
    }
    if raw.chars().any(|c| {
        matches!(
            c,
            '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
    }) {
        return Err(ValueError::new(
            "must not contain invisible characters (zero-width space U+200B, direction marks U+200E/U+200F, \
             line and paragraph separators U+2028/U+2029, U+2060 to U+2064, byte-order mark U+FEFF)",
        ));
    }
    Ok(raw)
}

/// [`text`] for new input: [`input`]'s rule, then [`text`]'s.
pub fn input_text(raw: &str, min: usize, max: usize) -> Result<String, ValueError> {
    input(raw).and_then(|s| text(s, min, max))
}

/// Whether `s` holds something shaped like a resident ID: 17 digits and a
/// check character (digit or X) that matches them (ISO 7064 MOD 11-2), not
/// part of a longer run of digits (a letter glued after it does not hide it),
/// also when written in groups with spaces or hyphens ("120111 19800104
/// 0003", "120111-198001040003").
pub fn contains_resident_id(s: &str) -> bool {
    let s = as_typed(s);
    shaped_like_resident_id(s.as_bytes()) || {
        let joined = join_digit_groups(s.as_bytes());
        joined.len() != s.len() && shaped_like_resident_id(&joined)
    }
}

/// `s` as a Chinese input method may have typed it, read plainly: full-width
/// digits and X as ASCII (`１２０…Ｘ`), any Unicode space (the ideographic
/// U+3000, no-break) as a space, dashes and the full-width hyphen as `-`,
/// and invisible characters (zero-width spaces and joiners, word joiner,
/// byte-order mark, soft hyphen) left out.
fn as_typed(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .filter_map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')),
            '\u{FF38}' | '\u{FF58}' => Some('X'),
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' => Some('-'),
            c if c.is_whitespace() => Some(' '),
            c => Some(c),
        })
        .collect::<String>()
        .into()
}

/// `b` without the spaces and hyphens that stand between two digits.
fn join_digit_groups(b: &[u8]) -> Vec<u8> {
    (0..b.len())
        .filter(|&i| {
            let between_digits = i > 0 && b.get(i + 1).is_some_and(u8::is_ascii_digit) && b[i - 1].is_ascii_digit();
            !(matches!(b[i], b' ' | b'-') && between_digits)
        })
        .map(|i| b[i])
        .collect()
}

fn shaped_like_resident_id(b: &[u8]) -> bool {
    if b.len() < 18 {
        return false;
    }
    (0..=b.len() - 18).any(|i| {
        let w = &b[i..i + 18];
        let bounded_before = i == 0 || !b[i - 1].is_ascii_digit();
        let bounded_after = b.get(i + 18).is_none_or(|c| !c.is_ascii_digit());
        bounded_before
            && bounded_after
            && w[..17].iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(&w[..17])
                .ok()
                .and_then(ResidentId::check_character)
                .is_some_and(|c| c == char::from(w[17].to_ascii_uppercase()))
    })
}

/// A short code: 1 to 64 characters of letters, digits, `-`, `_`, `.`, `#`, `:`.
pub fn code(raw: &str) -> Result<String, ValueError> {
    let s = text(raw, 1, 64)?;
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.#:".contains(c)) {
        return Err(ValueError::new("may hold only ASCII letters, digits and - _ . # :"));
    }
    Ok(s)
}

/// A programme code: 1 to 64 characters of lowercase ASCII letters, digits and `-`.
pub fn slug(raw: &str) -> Result<String, ValueError> {
    let s = text(raw, 1, 64)?;
    if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(ValueError::new("may hold only lowercase ASCII letters, digits and -"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_refuses_what_is_shaped_like_a_resident_id() {
        for s in [
            "11010519491231002X",
            "11010519491231002x",
            "见11010519491231002X本人",
            "id:11010519491231002X.",
            // A letter glued after it does not hide it, nor groups of digits.
            "11010519491231002XA",
            "120111198001040003a",
            "本人 120111 19800104 0003 来电",
            "证件号120111-198001040003",
            "110105194912310 02X",
            // As an input method types it: full-width digits and X, the
            // ideographic space, an invisible zero-width space inside.
            "１１０１０５１９４９１２３１００２Ｘ",
            "本人１２０１１１１９８００１０４０００３",
            "120111\u{3000}19800104\u{3000}0003",
            "1201111980\u{200B}01040003",
            "120111\u{2014}198001040003",
        ] {
            assert!(contains_resident_id(s), "{s}");
        }
        let err = text("本人 11010519491231002X 来访", 0, 500).unwrap_err().0;
        assert!(err.contains("resident ID") && !err.contains("110105"), "{err}");
        assert!(code("11010519491231002X").is_err(), "ids of vacancies and trainings too");
        for hidden in ["a\u{200B}b", "a\u{200F}b", "a\u{2028}b", "\u{FEFF}ab"] {
            let err = input_text(hidden, 0, 50).unwrap_err().0;
            assert!(err.contains("invisible characters"), "{hidden:?}: {err}");
        }
        assert!(
            input_text("👨\u{200D}👩\u{200D}👧 一家", 0, 50).is_ok(),
            "a joiner inside an emoji sequence is not hidden text"
        );
        // A wrong check character, a longer run of digits, fewer characters: not a resident ID.
        for s in [
            "110105194912310021",
            "9110105194912310021",
            "11010519491231002X7",
            "VAC-2026-0001",
            "022-2345 6789 转 12",
            "电话０２２－２３４５６７８９",
        ] {
            assert!(!contains_resident_id(s), "{s}");
            assert!(text(s, 0, 50).is_ok(), "{s}");
        }
    }
}
