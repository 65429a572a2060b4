//! A small macro for the enums Baton stores as UPPER_SNAKE text and shows as
//! lowercase at the API and MCP boundary.

/// A database column held a value its enum does not know: the data was
/// written by something else (or a newer version), so reading on would guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {value:?} in column {column}")]
pub struct UnknownDbValue {
    /// `table.column`.
    pub column: &'static str,
    /// What was found.
    pub value: String,
}

/// Declares an enum whose variants are stored as UPPER_SNAKE strings in the
/// database and written in lowercase at the API/MCP boundary.
///
/// Generates `as_db`, `from_db`, `as_api`, `parse_api` (accepts either case),
/// `ALL`, `Display` (API form) and serde (API form).
///
/// The API form is the lowercased database form unless a variant names its
/// own with `as "..."`, for the few values whose wire spelling differs (the
/// task status `TO_DO` is `todo` at the API). `parse_api` accepts the API
/// form and the database form in any case.
///
/// ```
/// baton_domain::db_enum! {
///     /// Example.
///     pub enum Demo { ToDo => "TO_DO" as "todo", InProgress => "IN_PROGRESS" }
/// }
/// assert_eq!(Demo::ToDo.as_api(), "todo");
/// assert_eq!(Demo::parse_api("TO_DO"), Some(Demo::ToDo));
/// assert_eq!(Demo::InProgress.as_api(), "in_progress");
/// assert_eq!(Demo::decode("IN_PROGRESS", "demos.status"), Ok(Demo::InProgress));
/// assert_eq!(
///     Demo::decode("BOGUS", "demos.status").unwrap_err().to_string(),
///     "unknown value \"BOGUS\" in column demos.status"
/// );
/// ```
#[macro_export]
macro_rules! db_enum {
    (@api $db:literal) => { $db.to_ascii_lowercase() };
    (@api $db:literal, $api:literal) => { ::std::string::String::from($api) };
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $db:literal $(as $api:literal)?),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The UPPER_SNAKE form stored in the database.
            pub fn as_db(self) -> &'static str {
                match self { $($name::$variant => $db),+ }
            }

            /// Parses the database form; `None` for anything else.
            pub fn from_db(s: &str) -> Option<Self> {
                match s { $($db => Some($name::$variant),)+ _ => None }
            }

            /// Parses a value read from `column` (`table.column`); an unknown
            /// value is an error naming the column, never a silent default.
            pub fn decode(s: &str, column: &'static str) -> Result<Self, $crate::db_enum::UnknownDbValue> {
                Self::from_db(s).ok_or_else(|| $crate::db_enum::UnknownDbValue { column, value: s.to_string() })
            }

            /// The lowercase form used by REST and MCP.
            pub fn as_api(self) -> String {
                match self { $($name::$variant => $crate::db_enum!(@api $db $(, $api)?)),+ }
            }

            /// Parses user input in the API form or the UPPER_SNAKE form, in any case.
            pub fn parse_api(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_api().eq_ignore_ascii_case(s))
                    .or_else(|| Self::from_db(&s.to_ascii_uppercase()))
            }

            /// The accepted API values, for error messages.
            pub fn api_values() -> String {
                Self::ALL.iter().map(|v| v.as_api()).collect::<Vec<_>>().join(", ")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.as_api())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.as_api())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::parse_api(&s).ok_or_else(|| {
                    ::serde::de::Error::custom(format!(
                        "unknown value `{}`, expected one of: {}", s, $name::api_values()
                    ))
                })
            }
        }

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::ALL.iter().map(|v| v.as_api())))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}
    };
}
