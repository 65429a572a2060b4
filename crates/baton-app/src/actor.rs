//! Who is calling: the authenticated user, how they authenticated, and the
//! checks every write shares.

use baton_domain::roles::Role;

use crate::AppError;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVia {
    /// A browser session cookie.
    Session {
        /// The session row's id (not the secret cookie value).
        session_id: String,
    },
    /// A Bearer API token.
    Token {
        /// The token row's id.
        token_id: String,
        /// Products the token is limited to; `None` = all the user's products.
        scope: Option<Vec<String>>,
    },
    /// The local administrator's command line (full rights).
    Cli,
    /// Baton itself, checking what this user may do (e.g. which products a
    /// new token may be scoped to); exactly the user's own rights.
    OnBehalf,
}

/// The authenticated caller of a use case.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user's id.
    pub user_id: String,
    /// The user's login name.
    pub username: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Demo users may only read.
    pub is_demo: bool,
    /// Must choose a new password before doing anything else in the UI.
    pub must_reset_password: bool,
    /// How they authenticated.
    pub via: AuthVia,
}

impl Actor {
    /// The command-line administrator: not a user row, acts with full rights.
    pub fn cli() -> Actor {
        Actor {
            user_id: String::new(),
            username: "cli".into(),
            roles: vec![Role::Admin],
            is_demo: false,
            must_reset_password: false,
            via: AuthVia::Cli,
        }
    }

    /// The actor for a user, authenticated as `via`.
    pub fn from_user(user: crate::accounts::UserView, via: AuthVia) -> Actor {
        Actor {
            user_id: user.id,
            username: user.username,
            roles: user.roles,
            is_demo: user.is_demo,
            must_reset_password: user.must_reset_password,
            via,
        }
    }

    /// Whether the caller holds a role.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller administers the installation.
    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// Refuses demo users; call first in every write use case.
    pub fn require_write(&self) -> Result<(), AppError> {
        if self.is_demo { Err(AppError::DemoReadOnly) } else { Ok(()) }
    }

    /// Refuses everyone but administrators (demo administrators may read only).
    pub fn require_admin(&self) -> Result<(), AppError> {
        if !self.is_admin() {
            return Err(AppError::Forbidden("this needs the admin role".into()));
        }
        Ok(())
    }

    /// The token scope, if the caller used a scoped token.
    pub fn token_scope(&self) -> Option<&[String]> {
        match &self.via {
            AuthVia::Token { scope: Some(s), .. } => Some(s),
            _ => None,
        }
    }
}
