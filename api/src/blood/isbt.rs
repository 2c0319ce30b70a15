//! Blood unit numbers: ISBT 128 donation identification numbers (DINs) checked with their
//! ISO 7064 Mod 37-2 keyboard check character, or local barcodes marked as such.
//!
//! A DIN is 13 characters: a facility identification number (a letter or digit, then four
//! digits), a two-digit year and a six-digit sequence number, e.g. `W1234 26 123456`. Labels
//! print it with two flag characters and a boxed check character: `W1234 26 123456 00 7`.
//! The check character is computed over the 13 DIN characters only (never the flags), so it
//! detects mistyped numbers at the keyboard. What is stored is the bare 13-character DIN:
//! the components made from one donation share it (the stock table is unique on DIN and
//! component together).
//!
//! Raw scanner output (`=` + DIN + flags, which carries no check character) is refused: the
//! check character is required so that every DIN entered is verified.

use std::fmt;

use crate::error::{AppError, AppResult};

/// The ISO 7064 Mod 37-2 character set; a character's value is its index.
const CHARSET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*";

/// Length of a donation identification number.
pub const DIN_LEN: usize = 13;

/// Shortest local barcode accepted.
pub const LOCAL_MIN_LEN: usize = 4;

/// Longest local barcode accepted.
pub const LOCAL_MAX_LEN: usize = 32;

/// The Mod 37-2 value of an alphanumeric character (letters in either case).
fn value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
        'a'..='z' => Some(c as u32 - 'a' as u32 + 10),
        _ => None,
    }
}

/// The ISO 7064 Mod 37-2 check character of `din` (for a DIN, its 13 characters without
/// spaces or flags). Letters may be in either case; `None` if `din` is empty or holds
/// anything other than letters and digits.
pub fn check_character(din: &str) -> Option<char> {
    if din.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for c in din.chars() {
        sum = ((sum + value(c)?) * 2) % 37;
    }
    let check = (38 - sum) % 37;
    CHARSET.get(check as usize).map(|&b| char::from(b))
}

/// Whether `din` has the DIN shape: `[A-Z0-9][0-9]{12}` (upper case).
fn is_din_shape(din: &[u8]) -> bool {
    din.len() == DIN_LEN
        && (din[0].is_ascii_uppercase() || din[0].is_ascii_digit())
        && din[1..].iter().all(u8::is_ascii_digit)
}

/// A validated blood unit number: a canonical 13-character DIN, or a local barcode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitNumber {
    value: String,
    local: bool,
}

impl UnitNumber {
    /// Parses a unit number typed or scanned by staff; errors are `BAD_USER_INPUT` on `field`.
    ///
    /// With `local_barcode` false, the input is an ISBT 128 DIN in eye-readable or keyboard
    /// form: spaces are ignored, a leading `=` (the barcode data identifier) is allowed, and
    /// the 13 DIN characters must be followed by the check character, optionally with the two
    /// flag digits between them (`W1234 26 123456 7`, `W1234 26 123456 00 7`, `=W123426123456007`).
    /// Letters may be lower case. The stored value is the 13-character DIN in upper case.
    ///
    /// With `local_barcode` true, the input (surrounding spaces ignored) must be 4–32
    /// characters of `A–Z`, `0–9` and `-`; it is stored upper-cased.
    pub fn parse(raw: &str, local_barcode: bool, field: &str) -> AppResult<UnitNumber> {
        if local_barcode {
            Self::parse_local(raw, field)
        } else {
            Self::parse_din(raw, field)
        }
    }

    fn parse_local(raw: &str, field: &str) -> AppResult<UnitNumber> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(AppError::bad_input(field, "enter the unit's local barcode"));
        }
        let count = value.chars().count();
        if !(LOCAL_MIN_LEN..=LOCAL_MAX_LEN).contains(&count) {
            return Err(AppError::bad_input(
                field,
                format!(
                    "a local barcode has {LOCAL_MIN_LEN} to {LOCAL_MAX_LEN} characters, not {count}"
                ),
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(AppError::bad_input(
                field,
                "a local barcode may hold only letters, digits and hyphens",
            ));
        }
        Ok(UnitNumber { value, local: true })
    }

    fn parse_din(raw: &str, field: &str) -> AppResult<UnitNumber> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let compact = compact.strip_prefix('=').unwrap_or(&compact);
        if compact.is_empty() {
            return Err(AppError::bad_input(
                field,
                "enter the unit's donation identification number",
            ));
        }
        const SHAPE: &str = "an ISBT 128 donation identification number is a facility code (a letter or digit and \
             4 digits), a 2-digit year and a 6-digit sequence number, then optionally 2 flag digits, \
             then the check character, e.g. W1234 26 123456 7";
        if !compact.is_ascii() {
            return Err(AppError::bad_input(field, SHAPE));
        }
        let bytes = compact.as_bytes();
        let (din, flags, check) = match bytes.len() {
            14 => (&bytes[..DIN_LEN], None, bytes[DIN_LEN]),
            16 => (
                &bytes[..DIN_LEN],
                Some(&bytes[DIN_LEN..DIN_LEN + 2]),
                bytes[DIN_LEN + 2],
            ),
            13 => {
                return Err(AppError::bad_input(
                    field,
                    "the check character is missing: type the character printed in the box after the number",
                ));
            }
            15 => {
                return Err(AppError::bad_input(
                    field,
                    "the check character is missing: type the character printed in the box after the flag digits",
                ));
            }
            _ => return Err(AppError::bad_input(field, SHAPE)),
        };
        if !is_din_shape(din) {
            return Err(AppError::bad_input(field, SHAPE));
        }
        if flags.is_some_and(|f| !f.iter().all(u8::is_ascii_digit)) {
            return Err(AppError::bad_input(
                field,
                "the flag characters must be 2 digits",
            ));
        }
        if !CHARSET.contains(&check) {
            return Err(AppError::bad_input(
                field,
                "the check character must be a letter, a digit or *",
            ));
        }
        let din = String::from_utf8_lossy(din).into_owned();
        if check_character(&din) != Some(char::from(check)) {
            return Err(AppError::bad_input(
                field,
                "check character does not match: re-enter the number and check character as printed on the label",
            ));
        }
        Ok(UnitNumber {
            value: din,
            local: false,
        })
    }

    /// The stored value: the 13-character DIN, or the local barcode.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Whether this is a local barcode rather than an ISBT 128 DIN.
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// The stored value, by move.
    pub fn into_inner(self) -> String {
        self.value
    }

    /// The eye-readable form: `W1234 26 123456 7` for a DIN (check character last), the
    /// barcode itself for a local one.
    pub fn eye_readable(&self) -> String {
        if self.local || self.value.len() != DIN_LEN {
            return self.value.clone();
        }
        let v = &self.value;
        let check = check_character(v).map(String::from).unwrap_or_default();
        format!("{} {} {} {check}", &v[..5], &v[5..7], &v[7..])
    }
}

impl fmt::Display for UnitNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// ISO 7064 Mod 37-2 by its definition, independently of [`check_character`]: the check
    /// value c makes Σ aᵢ·2^(n+1−i) + c ≡ 1 (mod 37), positions i = 1..n from the left.
    fn check_by_definition(din: &str) -> char {
        let n = din.len() as u32;
        let mut sum: u64 = 0;
        for (i, c) in din.chars().enumerate() {
            let weight = 2u64.pow(n - i as u32) % 37;
            sum += u64::from(value(c).unwrap()) * weight;
        }
        let c = (1 + 37 * 37 - sum % 37) % 37;
        char::from(CHARSET[c as usize])
    }

    fn message(err: AppError) -> (String, String) {
        match err {
            AppError::BadInput { field, message } => (field, message),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn hand_worked_example_g123498654321() {
        // Values: G=16, digits themselves. Running sum s ← (s + v)·2 mod 37:
        // G: (0+16)·2=32; 1: 33·2=66→29; 2: 31·2=62→25; 3: 28·2=56→19; 4: 23·2=46→9;
        // 9: 18·2=36; 8: 44·2=88→14; 6: 20·2=40→3; 5: 8·2=16; 4: 20·2=40→3;
        // 3: 6·2=12; 2: 14·2=28; 1: 29·2=58→21. Check = (38−21) mod 37 = 17 = 'H'.
        // (Also the published example of the UK Red Book, annex 2.)
        assert_eq!(check_character("G123498654321"), Some('H'));
        assert_eq!(check_by_definition("G123498654321"), 'H');
    }

    #[test]
    fn hand_worked_example_w123426123456() {
        // W=32: (0+32)·2=64→27; 1: 28·2=56→19; 2: 21·2=42→5; 3: 8·2=16; 4: 20·2=40→3;
        // 2: 5·2=10; 6: 16·2=32; 1: 33·2=66→29; 2: 31·2=62→25; 3: 28·2=56→19;
        // 4: 23·2=46→9; 5: 14·2=28; 6: 34·2=68→31. Check = (38−31) mod 37 = 7 = '7'.
        assert_eq!(check_character("W123426123456"), Some('7'));
        assert_eq!(check_by_definition("W123426123456"), '7');
    }

    #[test]
    fn published_iccbba_examples() {
        for (din, check) in [
            ("A999922654321", 'S'),
            ("A999922123458", 'J'),
            ("A999922012346", '*'),
            ("A999522123456", '*'),
            ("A999917123456", '9'),
            ("A999916123456", 'Q'),
            ("A999914123456", 'N'),
        ] {
            assert_eq!(check_character(din), Some(check), "{din}");
        }
    }

    #[test]
    fn iterative_and_definition_agree_on_many_dins() {
        let facilities = ["A9999", "W0000", "G1234", "01234", "Z9876"];
        for facility in facilities {
            for year in ["00", "26", "99"] {
                for seq in (0..1_000_000).step_by(7919) {
                    let din = format!("{facility}{year}{seq:06}");
                    assert_eq!(
                        check_character(&din),
                        Some(check_by_definition(&din)),
                        "{din}"
                    );
                }
            }
        }
    }

    #[test]
    fn check_character_edge_cases() {
        assert_eq!(check_character(""), None);
        assert_eq!(check_character("W1234 26"), None);
        assert_eq!(check_character("W1234*"), None);
        assert_eq!(check_character("g123498654321"), Some('H'));
    }

    #[test]
    fn parses_eye_readable_and_keyboard_forms() {
        for raw in [
            "W1234 26 123456 7",
            "W123426123456 7",
            "W1234261234567",
            "W1234 26 123456 00 7",
            "W1234 26 123456 12 7",
            "=W12342612345600 7",
            "=W1234261234567",
            "  w1234 26 123456 7  ",
        ] {
            let unit = UnitNumber::parse(raw, false, "input.unitNumber").unwrap();
            assert_eq!(unit.as_str(), "W123426123456", "{raw}");
            assert!(!unit.is_local());
        }
        let unit = UnitNumber::parse("a999922012346*", false, "f").unwrap();
        assert_eq!(unit.as_str(), "A999922012346");
        assert_eq!(unit.eye_readable(), "A9999 22 012346 *");
        assert_eq!(unit.to_string(), "A999922012346");
        assert_eq!(unit.into_inner(), "A999922012346");
        let digit_facility = "0123426123456";
        let check = check_character(digit_facility).unwrap();
        let unit = UnitNumber::parse(&format!("{digit_facility}{check}"), false, "f").unwrap();
        assert_eq!(unit.as_str(), digit_facility);
    }

    #[test]
    fn lower_case_check_character_accepted() {
        let unit = UnitNumber::parse("g123498654321h", false, "f").unwrap();
        assert_eq!(unit.as_str(), "G123498654321");
    }

    #[test]
    fn wrong_check_character_refused() {
        for raw in [
            "W1234 26 123456 K",
            "W1234 26 123456 00 8",
            "G123498654321G",
            "A999922012346 0",
        ] {
            let (field, msg) =
                message(UnitNumber::parse(raw, false, "input.units[0].unitNumber").unwrap_err());
            assert_eq!(field, "input.units[0].unitNumber");
            assert!(
                msg.contains("check character does not match"),
                "{raw}: {msg}"
            );
        }
    }

    #[test]
    fn single_character_typos_are_caught() {
        // Mod 37-2 detects every single substitution and adjacent transposition.
        let din = "W123426123456";
        let check = check_character(din).unwrap();
        let chars: Vec<char> = din.chars().collect();
        for i in 1..chars.len() {
            for d in '0'..='9' {
                if d == chars[i] {
                    continue;
                }
                let mut typo = chars.clone();
                typo[i] = d;
                let typo: String = typo.into_iter().collect();
                assert!(
                    UnitNumber::parse(&format!("{typo}{check}"), false, "f").is_err(),
                    "{typo}"
                );
            }
            if chars[i] != chars[i - 1] {
                let mut swapped = chars.clone();
                swapped.swap(i - 1, i);
                let swapped: String = swapped.into_iter().collect();
                assert!(
                    UnitNumber::parse(&format!("{swapped}{check}"), false, "f").is_err(),
                    "{swapped}"
                );
            }
        }
    }

    #[test]
    fn bad_lengths_and_shapes_refused() {
        for raw in [
            "",
            "   ",
            "=",
            "W123",
            "W12342612345",      // 12
            "W123426123456",     // 13, no check
            "W12342612345600",   // 15, flags but no check
            "W1234261234567890", // 17
            "WW23426123456K",    // letter in the facility digits
            "W1234A6123456K",    // letter in the year
            "W123426123456AB7",  // flags not digits
            "W123426123456#",    // bad check char
            "W1234-26-123456-7", // hyphens are not spaces
            "Ŵ1234261234567",    // non-ASCII
            "=W1234 26 123456 00 7 X",
        ] {
            let (field, msg) = message(UnitNumber::parse(raw, false, "unitNumber").unwrap_err());
            assert_eq!(field, "unitNumber");
            assert!(!msg.is_empty(), "{raw}");
        }
        let (_, msg) = message(UnitNumber::parse("W123426123456", false, "f").unwrap_err());
        assert!(msg.contains("check character is missing"), "{msg}");
    }

    #[test]
    fn local_barcodes() {
        let unit = UnitNumber::parse("bb-2026-0001", true, "f").unwrap();
        assert_eq!(unit.as_str(), "BB-2026-0001");
        assert!(unit.is_local());
        assert_eq!(unit.eye_readable(), "BB-2026-0001");
        // A DIN-looking local barcode is stored as given, without a check.
        let unit = UnitNumber::parse("W123426123456", true, "f").unwrap();
        assert_eq!(unit.as_str(), "W123426123456");
        assert!(unit.is_local());
        assert!(UnitNumber::parse("ABCD", true, "f").is_ok());
        assert!(UnitNumber::parse(&"A".repeat(32), true, "f").is_ok());
        for raw in ["ABC", "", &"A".repeat(33), "AB CD", "AB_CD", "ABÇD", "AB/1"] {
            let (field, _) =
                message(UnitNumber::parse(raw, true, "input.localBarcode").unwrap_err());
            assert_eq!(field, "input.localBarcode");
        }
        // A local barcode is never equal to the DIN of the same characters.
        assert_ne!(
            UnitNumber::parse("W1234261234567", true, "f").unwrap(),
            UnitNumber::parse("W1234261234567", false, "f").unwrap()
        );
    }
}
