//! Byte sizes as users write them, one rule for every attribute, data source
//! and provider function, so `"10GiB"` means the same thing everywhere.
//!
//! # Accepted spellings ([`parse_size`])
//!
//! `<number>[<whitespace>][<unit>]`, surrounding whitespace ignored.
//!
//! * `<number>` is `digits` or `digits.digits` (no sign, no exponent, no
//!   separators). A fraction is allowed only when the result is a whole number
//!   of bytes: `"1.5GiB"` is fine, `"0.3B"` and `"1.1K"` are not.
//! * `<unit>` is case-sensitive:
//!
//! | unit                          | factor                              |
//! |-------------------------------|-------------------------------------|
//! | none, `B`                     | 1 (bytes)                           |
//! | `K` `k` `KiB`                 | 1024                                |
//! | `M` `MiB`, `G` `GiB`          | 1024², 1024³                        |
//! | `T` `TiB`, `P` `PiB`          | 1024⁴, 1024⁵                        |
//! | `KB` `kB`, `MB`, `GB`         | 1000, 1000², 1000³                  |
//! | `TB`, `PB`                    | 1000⁴, 1000⁵                        |
//!
//! Single letters are binary, as in virsh, lvm and libvirt's `unit='K'`; the
//! `…B` forms are SI, as in libvirt's `unit='KB'`. Case matters because `Gb`
//! (gigabit) and `gib` are ambiguous, so they are rejected rather than guessed.
//! Zero is accepted; callers decide whether it is meaningful.

use thiserror::Error;

const KIB: u64 = 1 << 10;
const IEC: [(&str, u64); 5] = [
    ("PiB", 1 << 50),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", KIB),
];
const VALID_UNITS: &str = "B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB (powers of 1024) \
                           or KB, MB, GB, TB, PB (powers of 1000)";
/// Digits of a fraction beyond which exact arithmetic in u128 is not possible.
const MAX_DECIMALS: usize = 38;

/// Why a size string was rejected; every message quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[allow(missing_docs)] // the messages document the variants
pub enum SizeError {
    #[error("size is empty: write a number of bytes (\"1073741824\") or a number with a unit (\"10GiB\")")]
    Empty,
    #[error("negative size {0:?}: sizes must be zero or positive")]
    Negative(String),
    #[error("invalid size {0:?}: expected a non-negative number, optionally with a unit, such as \"10GiB\" or \"1.5TiB\"")]
    InvalidNumber(String),
    #[error("unknown unit {unit:?} in {input:?}: use {VALID_UNITS}")]
    UnknownUnit { unit: String, input: String },
    #[error("size {0:?} is not a whole number of bytes: use a whole number of bytes, or a fraction of a larger unit that comes to one, such as \"1.5GiB\"")]
    Fractional(String),
    #[error("size {0:?} has more than {MAX_DECIMALS} decimal places")]
    TooManyDecimals(String),
    #[error("size {0:?} is too large: the maximum is {max} bytes", max = u64::MAX)]
    Overflow(String),
}

fn unit_factor(unit: &str) -> Option<u64> {
    Some(match unit {
        "" | "B" => 1,
        "K" | "k" | "KiB" => KIB,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        "P" | "PiB" => 1 << 50,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "PB" => 1_000_000_000_000_000,
        _ => return None,
    })
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Parses a size in bytes by the rules in the [module documentation](self).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(SizeError::Empty);
    }
    if t.starts_with('-') {
        return Err(SizeError::Negative(s.to_string()));
    }
    let num_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..num_len], t[num_len..].trim_start());
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let well_formed = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (number.len() == int.len() || (!frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())));
    if !well_formed {
        return Err(SizeError::InvalidNumber(s.to_string()));
    }
    let factor = unit_factor(unit).ok_or_else(|| SizeError::UnknownUnit {
        unit: unit.to_string(),
        input: s.to_string(),
    })?;
    let overflow = || SizeError::Overflow(s.to_string());

    // The digits are checked above, so the only parse failure left is a
    // value beyond u128, which certainly overflows u64 once scaled.
    let int: u128 = int.parse().map_err(|_| overflow())?;
    let mut bytes = int.checked_mul(u128::from(factor)).ok_or_else(overflow)?;

    // Fraction: frac / 10^n * factor must be an integer. Reducing the fraction
    // first keeps everything exact and small (the result is below `factor`).
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        if frac.len() > MAX_DECIMALS {
            return Err(SizeError::TooManyDecimals(s.to_string()));
        }
        let (num, den): (u128, u128) = (
            frac.parse().map_err(|_| overflow())?,
            10u128.pow(frac.len() as u32),
        );
        let g = gcd(num, den);
        let (num, den) = (num / g, den / g);
        if u128::from(factor) % den != 0 {
            return Err(SizeError::Fractional(s.to_string()));
        }
        bytes = bytes
            .checked_add(num * (u128::from(factor) / den))
            .ok_or_else(overflow)?;
    }
    u64::try_from(bytes).map_err(|_| overflow())
}

/// The canonical spelling of a size: the largest IEC unit that divides it
/// exactly (`"10GiB"`, `"1536MiB"`), else plain bytes (`"1073741825"`), and
/// `"0"` for zero. Always parses back to the same value with [`parse_size`].
pub fn format_size(bytes: u64) -> String {
    IEC.iter()
        .find(|(_, f)| bytes != 0 && bytes % f == 0)
        .map_or_else(|| bytes.to_string(), |(u, f)| format!("{}{u}", bytes / f))
}

/// An approximate, human-friendly size for messages (`"9.5 GiB"`, `"512 B"`);
/// never parse it back.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < KIB {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / KIB as f64;
    let mut i = 0;
    // Bump the unit when rounding to one decimal would print "1024.0".
    while value >= 1023.95 && i + 1 < UNITS.len() {
        value /= KIB as f64;
        i += 1;
    }
    let text = format!("{value:.1}");
    format!("{} {}", text.strip_suffix(".0").unwrap_or(&text), UNITS[i])
}

/// A size as the configuration wrote it, read once: the text (what state shows, so a plan never
/// differs from the configuration by spelling alone) beside its bytes, or why it is not a size.
/// In state it is the plain string, as it always was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    text: String,
    bytes: Result<u64, SizeError>,
}

impl Size {
    /// The size `text` says.
    pub fn new(text: impl Into<String>) -> Size {
        let text = text.into();
        let bytes = parse_size(&text);
        Size { text, bytes }
    }

    /// `bytes`, in the canonical spelling.
    pub fn of_bytes(bytes: u64) -> Size {
        Size {
            text: format_size(bytes),
            bytes: Ok(bytes),
        }
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its bytes, or why the text is not a size.
    pub fn bytes(&self) -> Result<u64, SizeError> {
        self.bytes.clone()
    }

    /// This size when it says `actual` bytes (the spelling kept), else `actual` in the canonical
    /// spelling: drift shows in the plan, a spelling never does.
    pub fn kept_if(&self, actual: u64) -> Size {
        if self.bytes == Ok(actual) {
            self.clone()
        } else {
            Size::of_bytes(actual)
        }
    }
}

impl Default for Size {
    fn default() -> Size {
        Size::new("")
    }
}

impl From<&str> for Size {
    fn from(text: &str) -> Size {
        Size::new(text)
    }
}

impl From<String> for Size {
    fn from(text: String) -> Size {
        Size::new(text)
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Size {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        String::deserialize(d).map(Size::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn parses_every_unit_and_spelling() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1073741824", GIB),
            ("00012", 12),
            ("7B", 7),
            ("1K", 1024),
            ("1k", 1024),
            ("1KiB", 1024),
            ("3M", 3 << 20),
            ("3MiB", 3 << 20),
            ("10G", 10 * GIB),
            ("10GiB", 10 * GIB),
            ("2T", 2 << 40),
            ("2TiB", 2 << 40),
            ("1P", 1 << 50),
            ("1PiB", 1 << 50),
            ("1KB", 1_000),
            ("1kB", 1_000),
            ("5MB", 5_000_000),
            ("5GB", 5_000_000_000),
            ("5TB", 5_000_000_000_000),
            ("5PB", 5_000_000_000_000_000),
            ("10 GiB", 10 * GIB),
            ("10\tGiB", 10 * GIB),
            ("  10GiB  ", 10 * GIB),
            ("1.5GiB", 3 * GIB / 2),
            ("1.50GiB", 3 * GIB / 2),
            ("1.0", 1),
            ("0.5K", 512),
            ("0.001KB", 1),
            ("1.000000000B", 1),
            ("0.25 TiB", 1 << 38),
            ("0.000000476837158203125PiB", 1 << 29),
            ("0GiB", 0),
            ("16383PiB", 16383 << 50),
            ("18446744073709551615", u64::MAX),
            ("18446744073709551615B", u64::MAX),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn rejects_bad_input_with_clear_messages() {
        let cases: &[(&str, SizeError)] = &[
            ("", SizeError::Empty),
            ("   ", SizeError::Empty),
            ("-1", SizeError::Negative("-1".into())),
            ("-1GiB", SizeError::Negative("-1GiB".into())),
            ("+1GiB", SizeError::InvalidNumber("+1GiB".into())),
            ("GiB", SizeError::InvalidNumber("GiB".into())),
            (".5GiB", SizeError::InvalidNumber(".5GiB".into())),
            ("1.GiB", SizeError::InvalidNumber("1.GiB".into())),
            ("1.2.3", SizeError::InvalidNumber("1.2.3".into())),
            (
                "1,5GiB",
                SizeError::UnknownUnit {
                    unit: ",5GiB".into(),
                    input: "1,5GiB".into(),
                },
            ),
            ("NaN", SizeError::InvalidNumber("NaN".into())),
            ("inf", SizeError::InvalidNumber("inf".into())),
            (
                "1e9",
                SizeError::UnknownUnit {
                    unit: "e9".into(),
                    input: "1e9".into(),
                },
            ),
            (
                "10Gb",
                SizeError::UnknownUnit {
                    unit: "Gb".into(),
                    input: "10Gb".into(),
                },
            ),
            (
                "10gib",
                SizeError::UnknownUnit {
                    unit: "gib".into(),
                    input: "10gib".into(),
                },
            ),
            (
                "10 G B",
                SizeError::UnknownUnit {
                    unit: "G B".into(),
                    input: "10 G B".into(),
                },
            ),
            (
                "1EiB",
                SizeError::UnknownUnit {
                    unit: "EiB".into(),
                    input: "1EiB".into(),
                },
            ),
            ("0.3B", SizeError::Fractional("0.3B".into())),
            ("1.1K", SizeError::Fractional("1.1K".into())),
            ("0.1", SizeError::Fractional("0.1".into())),
            (
                "18446744073709551616",
                SizeError::Overflow("18446744073709551616".into()),
            ),
            ("16384PiB", SizeError::Overflow("16384PiB".into())),
            (
                "99999999999999999999999999999999999999999999",
                SizeError::Overflow("99999999999999999999999999999999999999999999".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input).as_ref(), Err(want), "{input}");
        }
        let long = format!("0.{}1GiB", "0".repeat(40));
        assert_eq!(parse_size(&long), Err(SizeError::TooManyDecimals(long.clone())));
        // Exactly the most decimals computed exactly: judged on its value, not refused for length.
        let edge = format!("0.{}1GiB", "0".repeat(MAX_DECIMALS - 1));
        assert_eq!(parse_size(&edge), Err(SizeError::Fractional(edge.clone())));
    }

    /// Fractions whose numerator does not divide the power of ten: the reduction must use their
    /// greatest common divisor, not the numerator.
    #[test]
    fn fractions_are_reduced_by_their_gcd() {
        assert_eq!(parse_size("0.75K"), Ok(768));
        assert_eq!(parse_size("2.375M"), Ok(2_490_368));
        assert_eq!(
            parse_size("1.6G"),
            Err(SizeError::Fractional("1.6G".into())),
            "1.6 GiB is not a whole number of bytes"
        );
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(7, 0), 7);
    }

    #[test]
    fn messages_quote_the_input() {
        let msg = |s| parse_size(s).unwrap_err().to_string();
        assert_eq!(
            msg("10Gb"),
            "unknown unit \"Gb\" in \"10Gb\": use B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB \
             (powers of 1024) or KB, MB, GB, TB, PB (powers of 1000)"
        );
        assert!(msg("0.3B").starts_with("size \"0.3B\" is not a whole number of bytes: use"));
        assert_eq!(
            msg("-5G"),
            "negative size \"-5G\": sizes must be zero or positive"
        );
        assert!(msg("abc").contains("\"abc\""));
        assert!(msg("99999PiB").contains("18446744073709551615"));
        assert!(msg("").starts_with("size is empty"));
    }

    #[test]
    fn formats_canonically() {
        let cases: &[(u64, &str)] = &[
            (0, "0"),
            (1, "1"),
            (1023, "1023"),
            (1024, "1KiB"),
            (1536, "1536"),
            (1536 << 10, "1536KiB"),
            (1536 << 20, "1536MiB"),
            (10 * GIB, "10GiB"),
            (GIB + 1, "1073741825"),
            (1 << 40, "1TiB"),
            (1 << 50, "1PiB"),
            (1 << 60, "1024PiB"),
            (u64::MAX, "18446744073709551615"),
        ];
        for (bytes, want) in cases {
            assert_eq!(format_size(*bytes), *want, "{bytes}");
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        // Deterministic spread: small values, powers of two and their
        // neighbours, multiples of each unit, and a simple LCG for the rest.
        let mut values: Vec<u64> = (0..2048).collect();
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p, p - 1, p + 1, p.wrapping_mul(3), p.wrapping_mul(1000)]);
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            values.extend([x, x >> 20 << 20, x >> 34 << 30, x >> 54]);
        }
        for v in values {
            assert_eq!(parse_size(&format_size(v)), Ok(v), "{v}");
        }
    }

    #[test]
    fn human_is_approximate() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1 KiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(19 * GIB / 2), "9.5 GiB");
        assert_eq!(human(10 * GIB), "10 GiB");
        assert_eq!(human((1 << 20) - 1), "1 MiB");
        assert_eq!(human(u64::MAX), "16 EiB");
    }

    #[test]
    fn a_size_is_read_once_and_keeps_its_spelling() {
        let s = Size::new("1GiB");
        assert_eq!((s.text(), s.bytes()), ("1GiB", Ok(1 << 30)));
        assert_eq!(
            s.kept_if(1 << 30).text(),
            "1GiB",
            "the same bytes keep the spelling"
        );
        assert_eq!(
            s.kept_if(2 << 30).text(),
            format_size(2 << 30),
            "drift shows canonically"
        );
        let bad = Size::new("10 parsecs");
        assert!(
            matches!(bad.bytes(), Err(SizeError::UnknownUnit { .. })),
            "{bad:?}"
        );
        assert_eq!(bad.text(), "10 parsecs");
        assert_eq!(Size::default().bytes(), Err(SizeError::Empty));
        // The conversions the states and messages use.
        assert_eq!(Size::from("1GiB"), s);
        assert_eq!(Size::from(String::from("2MiB")).bytes(), Ok(2 << 20));
        assert_eq!(format!("capacity {}", s), "capacity 1GiB");
        // In state, the plain string, as before.
        assert_eq!(serde_json::to_string(&s).expect("json"), "\"1GiB\"");
        let back: Size = serde_json::from_str("\"1.5GiB\"").expect("json");
        assert_eq!(back.bytes(), Ok(3 << 29));
    }
}
