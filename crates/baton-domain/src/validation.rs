//! Field-level validation errors and the checks shared by every entry point.

use serde::Serialize;

/// One invalid field: its path in the request and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `username` or `items.2.title`.
    pub path: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

/// All invalid fields of one request, collected so the caller sees every
/// problem at once rather than one per round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.summary())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }
    /// A single field error.
    pub fn one(path: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(path, message);
        e
    }
    /// Adds a field error.
    pub fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(FieldError { path: path.to_string(), message: message.into() });
    }
    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
    /// `path: message; path: message` — the MCP `VALIDATION_ERROR:` text.
    pub fn summary(&self) -> String {
        self.0.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>().join("; ")
    }
}

/// The message for text holding a NUL character, which Postgres cannot
/// store in text columns (and SQLite would store, so both refuse it alike).
pub const NUL_MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// The dotted path (`items.2.title`, `.` for the root) of the first string
/// or object key in `value` that holds a NUL character.
pub fn find_nul(value: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &mut Vec<String>) -> Option<String> {
        let here = |path: &Vec<String>| if path.is_empty() { ".".to_string() } else { path.join(".") };
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(here(path)),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                path.push(i.to_string());
                let found = walk(item, path);
                path.pop();
                found
            }),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
                path.push(k.replace('\0', "\\u0000"));
                let found = if k.contains('\0') { Some(here(path)) } else { walk(item, path) };
                path.pop();
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut Vec::new())
}

/// Minimum password length; long passphrases beat composition rules.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Maximum password length, so hashing cost stays bounded.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Checks a username: 3–40 characters of letters, digits, `.`, `_` or `-`.
pub fn check_username(errs: &mut ValidationErrors, path: &str, username: &str) {
    let len = username.chars().count();
    if !(3..=40).contains(&len) {
        errs.add(path, "must be 3 to 40 characters");
    } else if !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        errs.add(path, "may contain only letters, digits, '.', '_' and '-'");
    }
}

/// Checks a password's length.
pub fn check_password(errs: &mut ValidationErrors, path: &str, password: &str) {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        errs.add(path, format!("must be at least {MIN_PASSWORD_LEN} characters"));
    } else if len > MAX_PASSWORD_LEN {
        errs.add(path, format!("must be at most {MAX_PASSWORD_LEN} characters"));
    }
}

/// Checks an optional e-mail address loosely: one `@` with text on both sides
/// and a dot in the domain. Delivery is the only real test of an address.
pub fn check_email(errs: &mut ValidationErrors, path: &str, email: &str) {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.len() <= 254
        }
        None => false,
    };
    if !ok {
        errs.add(path, "must be an e-mail address like name@example.com");
    }
}

/// Checks a required free-text field's length in characters after trimming.
pub fn check_text(errs: &mut ValidationErrors, path: &str, value: &str, min: usize, max: usize) {
    let len = value.trim().chars().count();
    if len < min {
        if min == 1 {
            errs.add(path, "must not be empty")
        } else {
            errs.add(path, format!("must be at least {min} characters"))
        }
    } else if len > max {
        errs.add(path, format!("must be at most {max} characters"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_nul_names_the_first_string_holding_nul() {
        let v = serde_json::json!({"title": "ok", "items": [{"a": "fine"}, {"b": "bad\u{0000}x"}]});
        assert_eq!(find_nul(&v).as_deref(), Some("items.1.b"));
        assert_eq!(find_nul(&serde_json::json!("\u{0000}")).as_deref(), Some("."));
        assert_eq!(find_nul(&serde_json::json!({"k\u{0000}": 1})).as_deref(), Some("k\\u0000"));
        assert_eq!(find_nul(&serde_json::json!({"title": "clean", "n": [1, 2]})), None);
    }

    #[test]
    fn username_rules_name_the_field() {
        let mut e = ValidationErrors::new();
        check_username(&mut e, "username", "ab");
        check_username(&mut e, "other", "bad name");
        check_username(&mut e, "fine", "alice.b-1");
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.0[0].path, "username");
        assert_eq!(e.0[1].path, "other");
        assert_eq!(
            e.summary(),
            "username: must be 3 to 40 characters; other: may contain only letters, digits, '.', '_' and '-'"
        );
    }

    #[test]
    fn password_and_email_limits() {
        let mut e = ValidationErrors::new();
        check_password(&mut e, "password", "short");
        check_password(&mut e, "ok", "long enough");
        check_email(&mut e, "email", "no-at-sign");
        check_email(&mut e, "email2", "a@b.co");
        check_text(&mut e, "label", "   ", 1, 10);
        assert_eq!(e.0.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["password", "email", "label"]);
        assert!(ValidationErrors::new().into_result().is_ok());
    }
}
