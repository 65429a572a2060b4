//! API tokens: random secrets shown once, stored as SHA-256, optionally
//! limited to some products and to a lifetime, revocable.

use baton_domain::{ValidationErrors, validation::check_text};
use baton_store::{
    entities::{api_token, api_token_product, user},
    new_id, now,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    },
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Actor, App, AppError, AppResult, AuthVia, access,
    accounts::view,
    secrets::{random_hex, sha256_hex},
};

/// Every token starts with this, so leaked tokens are easy to grep for.
pub const TOKEN_PREFIX: &str = "baton_";

/// Longest lifetime a token may be given.
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// Input for a new token.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, e.g. "Claude Code — laptop" (1–200 characters).
    #[schema(max_length = 200, pattern = "\\S")]
    pub label: String,
    /// Limit the token to these products (ids); empty = all of the user's products.
    #[serde(default)]
    pub product_ids: Vec<String>,
    /// Expire after this many days (1–3650); absent = never.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// Token id (used to revoke it).
    pub id: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    /// What it is for.
    pub label: Option<String>,
    /// Products it is limited to; empty = unscoped.
    pub product_ids: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last time it authenticated a request (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Usable now: not revoked and not expired.
    pub active: bool,
}

/// A freshly created token: the secret is in here and nowhere else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret; shown this once.
    pub token: String,
    /// The stored record.
    #[serde(flatten)]
    pub info: TokenView,
}

async fn token_view<C: baton_store::sea_orm::ConnectionTrait>(db: &C, t: api_token::Model) -> AppResult<TokenView> {
    let scope = api_token_product::Entity::find()
        .filter(api_token_product::Column::TokenId.eq(&t.id))
        .order_by_asc(api_token_product::Column::ProductId)
        .all(db)
        .await?;
    let n = now();
    Ok(TokenView {
        active: t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > n),
        id: t.id,
        prefix: t.prefix,
        label: t.label,
        product_ids: scope.into_iter().map(|s| s.product_id).collect(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    })
}

impl App {
    /// Creates a token for `owner_id` (the caller themselves, or anyone when
    /// called from the command line). Scoped products must be ones the owner
    /// can see.
    pub async fn create_token(&self, actor: &Actor, owner_id: &str, input: NewToken) -> AppResult<CreatedToken> {
        actor.require_write()?;
        if actor.user_id != owner_id && !matches!(actor.via, AuthVia::Cli) {
            return Err(AppError::NotFound("user"));
        }
        let owner =
            user::Entity::find_by_id(owner_id.to_string()).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        // A token can never do more than the person it acts for.
        let owner_actor = Actor::from_user(view(&self.db, owner.clone()).await?, AuthVia::OnBehalf);
        let mut errs = ValidationErrors::new();
        check_text(&mut errs, "label", &input.label, 1, 200);
        if let Some(d) = input.expires_in_days
            && !(1..=MAX_TOKEN_DAYS).contains(&d)
        {
            errs.add("expires_in_days", format!("must be between 1 and {MAX_TOKEN_DAYS}"));
        }
        let mut scope: Vec<String> = Vec::new();
        for (i, pid) in input.product_ids.iter().enumerate() {
            if scope.contains(pid) {
                errs.add(&format!("product_ids.{i}"), "is listed twice");
            } else if access::readable(&self.db, &owner_actor, pid).await.is_err() {
                errs.add(&format!("product_ids.{i}"), format!("no product `{pid}` that this user can access"));
            } else {
                scope.push(pid.clone());
            }
        }
        errs.into_result()?;
        let secret = format!("{TOKEN_PREFIX}{}", random_hex(32));
        let t = now();
        let row = api_token::ActiveModel {
            id: Set(new_id()),
            user_id: Set(owner.id),
            token_hash: Set(sha256_hex(&secret)),
            prefix: Set(secret.chars().take(TOKEN_PREFIX.len() + 6).collect()),
            label: Set(Some(input.label.trim().to_string())),
            created_at: Set(t),
            expires_at: Set(input.expires_in_days.map(|d| t + Duration::days(i64::from(d)))),
            last_used_at: Set(None),
            revoked_at: Set(None),
        };
        let row = self
            .db
            .transaction::<_, api_token::Model, AppError>(|txn| {
                Box::pin(async move {
                    let row = row.insert(txn).await?;
                    for pid in scope {
                        api_token_product::ActiveModel {
                            id: Set(new_id()),
                            token_id: Set(row.id.clone()),
                            product_id: Set(pid),
                        }
                        .insert(txn)
                        .await?;
                    }
                    Ok(row)
                })
            })
            .await?;
        Ok(CreatedToken { token: secret, info: token_view(&self.db, row).await? })
    }

    /// Lists a user's tokens, newest first. Callers see their own; the
    /// command line may list anyone's.
    pub async fn list_tokens(&self, actor: &Actor, owner_id: &str) -> AppResult<Vec<TokenView>> {
        if actor.user_id != owner_id && !matches!(actor.via, AuthVia::Cli) {
            return Err(AppError::NotFound("user"));
        }
        let rows = api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(owner_id))
            .order_by_desc(api_token::Column::CreatedAt)
            .order_by_desc(api_token::Column::Id)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(token_view(&self.db, r).await?);
        }
        Ok(out)
    }

    /// Revokes a token. Other people's token ids are "not found". Revoking
    /// twice keeps the first revocation time.
    pub async fn revoke_token(&self, actor: &Actor, token_id: &str) -> AppResult<TokenView> {
        actor.require_write()?;
        let row = api_token::Entity::find_by_id(token_id.to_string())
            .one(&self.db)
            .await?
            .filter(|t| t.user_id == actor.user_id || matches!(actor.via, AuthVia::Cli))
            .ok_or(AppError::NotFound("token"))?;
        let row = if row.revoked_at.is_none() {
            let mut am: api_token::ActiveModel = row.into();
            am.revoked_at = Set(Some(now()));
            am.update(&self.db).await?
        } else {
            row
        };
        token_view(&self.db, row).await
    }

    /// Resolves a Bearer token to the caller. Unknown, revoked and expired
    /// tokens, and tokens of disabled users, are refused with a message
    /// saying which.
    pub async fn token_actor(&self, secret: &str) -> AppResult<Actor> {
        let hash = sha256_hex(secret.trim());
        let t = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::Unauthorized("invalid API token".into()))?;
        let n = now();
        if t.revoked_at.is_some() {
            return Err(AppError::Unauthorized("this API token was revoked".into()));
        }
        if t.expires_at.is_some_and(|e| e <= n) {
            return Err(AppError::Unauthorized("this API token has expired".into()));
        }
        let u = user::Entity::find_by_id(t.user_id.clone())
            .one(&self.db)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or_else(|| AppError::Unauthorized("this API token's account is disabled".into()))?;
        if t.last_used_at
            .is_none_or(|l| n - l > Duration::from_std(self.config.token_touch_every).unwrap_or(Duration::MAX))
        {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, baton_store::sea_orm::sea_query::Expr::value(n))
                .filter(api_token::Column::Id.eq(&t.id))
                .exec(&self.db)
                .await?;
        }
        let scope: Vec<String> = api_token_product::Entity::find()
            .filter(api_token_product::Column::TokenId.eq(&t.id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|s| s.product_id)
            .collect();
        let v = view(&self.db, u).await?;
        Ok(Actor::from_user(v, AuthVia::Token { token_id: t.id, scope: (!scope.is_empty()).then_some(scope) }))
    }
}
