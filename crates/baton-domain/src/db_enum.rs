//! A small macro for the enums Baton stores as UPPER_SNAKE text and shows as
//! lowercase at the API and MCP boundary.

/// Declares an enum whose variants are stored as UPPER_SNAKE strings in the
/// database and written in lowercase at the API/MCP boundary.
///
/// Generates `as_db`, `from_db`, `as_api`, `parse_api` (accepts either case),
/// `ALL`, `Display` (API form) and serde (API form).
#[macro_export]
macro_rules! db_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
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

            /// The lowercase form used by REST and MCP.
            pub fn as_api(self) -> String {
                self.as_db().to_ascii_lowercase()
            }

            /// Parses user input in either the lowercase or UPPER_SNAKE form.
            pub fn parse_api(s: &str) -> Option<Self> {
                Self::from_db(&s.trim().to_ascii_uppercase())
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
