//! Parsed input values. A value of one of these types has been checked, so services never
//! re-validate and a bad value is refused once, naming its field.

use crate::error::{AppError, AppResult};

/// A syntactically valid email address, trimmed and lower-cased (so uniqueness is
/// case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email for the input field `field`.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let s = raw.trim().to_lowercase();
        let bad = || AppError::bad_input(field, "is not a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(Self(s))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the policy: 12 to 128 characters (NIST SP 800-63B favours
/// length over composition rules).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// Checks a new password.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let n = raw.chars().count();
        if n < 12 {
            return Err(AppError::bad_input(field, "must be at least 12 characters"));
        }
        if n > 128 {
            return Err(AppError::bad_input(field, "must be at most 128 characters"));
        }
        Ok(Self(raw.to_string()))
    }

    /// The password, to be hashed.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A non-empty, trimmed text of bounded length (names, titles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// Trims and checks the length (in characters).
    pub fn parse(raw: &str, field: &str, max: usize) -> AppResult<Self> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(AppError::bad_input(field, "must not be empty"));
        }
        if s.chars().count() > max {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {max} characters"),
            ));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(AppError::bad_input(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// Parses an optional text; empty means absent.
    pub fn parse_opt(raw: Option<&str>, field: &str, max: usize) -> AppResult<Option<Self>> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Self::parse(s, field, max).map(Some),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number in E.164 form (`+` and 8 to 15 digits), spaces and dashes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let s: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = s.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::bad_input(
                field,
                "must be an international number like +919812345678",
            ));
        }
        Ok(Self(s))
    }

    /// Parses an optional phone number.
    pub fn parse_opt(raw: Option<&str>, field: &str) -> AppResult<Option<Self>> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Self::parse(s, field).map(Some),
        }
    }

    /// The normalized number.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An organization code: 3 to 32 of `A-Z 0-9 -`, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgCode(String);

impl OrgCode {
    /// Parses a code.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let s = raw.trim().to_uppercase();
        if !(3..=32).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(AppError::bad_input(
                field,
                "must be 3 to 32 letters, digits or dashes",
            ));
        }
        Ok(Self(s))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An insurance plan code: 2 to 32 of `A-Z 0-9 -`, upper-cased (seed 002's `plan_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCode(String);

impl PlanCode {
    /// Parses a code.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let s = raw.trim().to_uppercase();
        if !(2..=32).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(AppError::bad_input(
                field,
                "must be 2 to 32 letters, digits or dashes",
            ));
        }
        Ok(Self(s))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A donor card code: 12 characters of Crockford's base 32 (60 random bits), shown as
/// `XXXX-XXXX-XXXX`. Read back the way people type what they see: any case, spaces and
/// dashes ignored, `O` read as `0` and `I`/`L` as `1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DonorCode(String);

impl DonorCode {
    const ALPHABET: &'static [u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const LEN: usize = 12;

    /// A new code from the operating system's CSPRNG (via `rand`'s thread RNG).
    pub fn generate() -> Self {
        use rand::Rng as _;
        let mut rng = rand::rng();
        Self(
            (0..Self::LEN)
                .map(|_| char::from(Self::ALPHABET[rng.random_range(0..Self::ALPHABET.len())]))
                .collect(),
        )
    }

    /// Parses a code as a donor or a bank typed it.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let bad = || AppError::bad_input(field, "is not a donor card code");
        if raw.len() > 64 {
            return Err(bad());
        }
        let mut s = String::with_capacity(Self::LEN);
        for c in raw.chars().filter(|c| !matches!(c, ' ' | '-')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !Self::ALPHABET.contains(&(c as u8)) {
                return Err(bad());
            }
            s.push(c);
        }
        if s.len() != Self::LEN {
            return Err(bad());
        }
        Ok(Self(s))
    }

    /// As stored: the 12 characters without dashes.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored code as printed on the card, in groups of four.
    pub fn display(stored: &str) -> String {
        stored
            .as_bytes()
            .chunks(4)
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// A point on Earth in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// -90 to 90.
    pub latitude: f64,
    /// -180 to 180.
    pub longitude: f64,
}

impl GeoPoint {
    /// Checks ranges; `prefix` is the input path of the two fields.
    pub fn parse(latitude: f64, longitude: f64, prefix: &str) -> AppResult<Self> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(AppError::bad_input(
                format!("{prefix}latitude"),
                "must be between -90 and 90",
            ));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(AppError::bad_input(
                format!("{prefix}longitude"),
                "must be between -180 and 180",
            ));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses a country code.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let s = raw.trim().to_uppercase();
        if s.len() != 2 || !s.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(AppError::bad_input(
                field,
                "must be a two-letter ISO country code",
            ));
        }
        Ok(Self(s))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_codes_are_upper_cased_and_limited_to_letters_digits_and_dashes() {
        assert_eq!(
            PlanCode::parse(" hmo-gold-1 ", "c")
                .map(PlanCode::into_inner)
                .ok(),
            Some("HMO-GOLD-1".to_string())
        );
        for bad in [
            "",
            "H",
            "HMO GOLD",
            "HMO_GOLD",
            &"X".repeat(33),
            "PLAN\u{e9}",
        ] {
            assert!(PlanCode::parse(bad, "c").is_err(), "{bad}");
        }
    }

    #[test]
    fn donor_codes_read_back_as_people_type_them() {
        let code = DonorCode::generate();
        assert_eq!(code.as_str().len(), 12);
        let shown = DonorCode::display(code.as_str());
        assert_eq!(shown.len(), 14);
        assert_eq!(DonorCode::parse(&shown, "c").ok(), Some(code.clone()));
        assert_eq!(
            DonorCode::parse(&shown.to_lowercase().replace('-', " "), "c").ok(),
            Some(code)
        );
        assert_eq!(
            DonorCode::parse("oil2-3456-789a", "c").map(|c| c.0).ok(),
            Some("01123456789A".to_string())
        );
        for bad in [
            "",
            "ABCD-EFGH-JKM",
            "ABCD-EFGH-JKMNP",
            "ABCD-EFGH-JKMU",
            "ABCD-EFGH-JKM\u{e9}",
        ] {
            assert!(DonorCode::parse(bad, "c").is_err(), "{bad}");
        }
        assert_ne!(DonorCode::generate(), DonorCode::generate());
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse(" Ana@Example.ORG ", "e").map(|e| e.0).ok(),
            Some("ana@example.org".into())
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@.com",
            "a@b..com",
            "a b@c.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad, "e").is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(NewPassword::parse("short", "p").is_err());
        assert!(NewPassword::parse("twelve chars", "p").is_ok());
    }

    #[test]
    fn geo_points_are_range_checked() {
        assert!(GeoPoint::parse(12.97, 77.59, "").is_ok());
        assert!(GeoPoint::parse(91.0, 0.0, "").is_err());
        assert!(GeoPoint::parse(0.0, f64::NAN, "").is_err());
    }
}

/// Free text written by a clinician or a patient (symptoms, notes, instructions): like
/// [`Text`] but line breaks and tabs are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes(String);

impl Notes {
    /// Parses a required note.
    pub fn parse(raw: &str, field: &str, max: usize) -> AppResult<Self> {
        Self::parse_opt(Some(raw), field, max)?
            .ok_or_else(|| AppError::bad_input(field, "must not be empty"))
    }

    /// Parses an optional note; empty means absent.
    pub fn parse_opt(raw: Option<&str>, field: &str, max: usize) -> AppResult<Option<Self>> {
        let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if s.chars().count() > max {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {max} characters"),
            ));
        }
        if s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(AppError::bad_input(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Some(Self(s.to_string())))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An IANA time zone name (`Europe/Berlin`, `America/New_York`), as the tz database knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IanaZone(pub chrono_tz::Tz);

impl IanaZone {
    /// Parses a zone name.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        raw.trim().parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            AppError::bad_input(field, "must be an IANA time zone such as Europe/Berlin")
        })
    }
}

/// A BCP-47 language tag of the common shape (`en`, `fr-RW`, `zh-Hant-TW`), normalized:
/// language lower-case, script title-case, region upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    /// Parses a tag: a 2–3 letter language, then up to three subtags of 2–8 letters or
    /// digits, separated by `-` (or `_`).
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let bad = || AppError::bad_input(field, "must be a language tag such as en or fr-RW");
        let raw = raw.trim().replace('_', "-");
        if raw.len() > 35 {
            return Err(bad());
        }
        let mut parts = raw.split('-');
        let lang = parts.next().unwrap_or_default();
        if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(bad());
        }
        let mut out = vec![lang.to_ascii_lowercase()];
        for part in parts {
            if !(2..=8).contains(&part.len())
                || !part.chars().all(|c| c.is_ascii_alphanumeric())
                || out.len() > 3
            {
                return Err(bad());
            }
            out.push(match part.len() {
                2 if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
                4 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let lower = part.to_ascii_lowercase();
                    let mut cs = lower.chars();
                    cs.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                        .unwrap_or_default()
                }
                _ => part.to_ascii_lowercase(),
            });
        }
        Ok(Self(out.join("-")))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An ISO 4217 currency code, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// Parses a currency code.
    pub fn parse(raw: &str, field: &str) -> AppResult<Self> {
        let s = raw.trim().to_uppercase();
        if s.len() != 3 || !s.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(AppError::bad_input(
                field,
                "must be a three-letter ISO 4217 currency code",
            ));
        }
        Ok(Self(s))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An amount of money in minor units (cents, paise): positive and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorAmount(i64);

impl MinorAmount {
    /// The largest amount accepted (a hundred million in major units).
    pub const MAX: i64 = 10_000_000_000;

    /// Parses an amount; `allow_zero` for fees (a free consultation).
    pub fn parse(raw: i64, field: &str, allow_zero: bool) -> AppResult<Self> {
        let min = if allow_zero { 0 } else { 1 };
        if !(min..=Self::MAX).contains(&raw) {
            return Err(AppError::bad_input(
                field,
                format!("must be between {min} and {} minor units", Self::MAX),
            ));
        }
        Ok(Self(raw))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Where report images may live (`IMAGE_URL_HOSTS`, `REPORT_STORAGE_PREFIXES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSources {
    /// Hosts an `https://` URL may name, lower-cased; `None` admits any host (development
    /// without a list).
    pub hosts: Option<Vec<String>>,
    /// Storage locations (`s3://bucket/`) accepted besides `https://`.
    pub prefixes: Vec<String>,
}

/// The URL of a report image: `https://` on an allowed host, or under a storage prefix.
/// Clients (and the AI service) fetch these, so an arbitrary host would make them fetch
/// from wherever an uploader points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUrl(String);

impl ImageUrl {
    /// The longest URL accepted.
    pub const MAX_LEN: usize = 2048;

    /// Checks a URL against the allowed sources.
    pub fn parse(raw: &str, field: &str, sources: &ImageSources) -> AppResult<Self> {
        let s = raw.trim();
        if s.len() > Self::MAX_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AppError::bad_input(
                field,
                "must be a URL of at most 2048 characters without spaces",
            ));
        }
        let stored = sources
            .prefixes
            .iter()
            .any(|p| s.starts_with(p.as_str()) && s.len() > p.len());
        if stored {
            return Ok(Self(s.to_string()));
        }
        let Some(host) = https_host(s) else {
            return Err(AppError::bad_input(
                field,
                "must be an https:// URL (or an allowed storage location)",
            ));
        };
        match &sources.hosts {
            Some(hosts) if !hosts.contains(&host) => Err(AppError::bad_input(
                field,
                "must point at an allowed image host",
            )),
            _ => Ok(Self(s.to_string())),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The lower-cased host of an `https://` URL, without its port; `None` for anything else,
/// and for URLs with credentials (`https://allowed@elsewhere/`) or backslashes, which
/// browsers and HTTP clients read differently.
fn https_host(s: &str) -> Option<String> {
    let rest = s.get(..8).filter(|p| p.eq_ignore_ascii_case("https://"))?;
    let rest = &s[rest.len()..];
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains(['@', '\\']) {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => &authority[..v6.find(']')? + 2],
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod image_url_tests {
    use super::*;

    fn sources(hosts: Option<&[&str]>) -> ImageSources {
        ImageSources {
            hosts: hosts.map(|h| h.iter().map(|s| (*s).to_string()).collect()),
            prefixes: vec!["s3://imaging/".into()],
        }
    }

    #[test]
    fn only_listed_https_hosts_and_storage_prefixes_pass_a_host_list() {
        let only = sources(Some(&["img.example"]));
        for ok in [
            "https://img.example/a.dcm",
            "HTTPS://IMG.example:443/a.dcm",
            "s3://imaging/a.dcm",
        ] {
            assert!(ImageUrl::parse(ok, "u", &only).is_ok(), "{ok}");
        }
        for bad in [
            "https://evil.example/a.dcm",
            "https://img.example@evil.example/a.dcm",
            "https://img.example.evil.example/a",
            "https://evil.example\\@img.example/a",
            "http://img.example/a.dcm",
            "https:///a.dcm",
            "s3://imaging/",
            "s3://other/a.dcm",
            "javascript:alert(1)",
        ] {
            assert!(ImageUrl::parse(bad, "u", &only).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_a_list_any_https_host_passes() {
        let any = sources(None);
        assert!(ImageUrl::parse("https://anywhere.example/a", "u", &any).is_ok());
        assert!(ImageUrl::parse("https://[::1]:8443/a", "u", &any).is_ok());
        assert!(ImageUrl::parse("http://anywhere.example/a", "u", &any).is_err());
    }
}
