//! Pagination shared by every list: `page` (1-based) and `limit` (default
//! 50, at most 200), answered with the total so clients can page.

use serde::{Deserialize, Serialize};

use crate::AppError;

/// Largest page size.
pub const MAX_LIMIT: u64 = 200;
/// Page size when none is asked for.
pub const DEFAULT_LIMIT: u64 = 50;

/// Which page to return.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
pub struct PageParams {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u64>,
}

impl PageParams {
    /// The validated (page, limit); errors name the parameter.
    pub fn resolve(self) -> Result<(u64, u64), AppError> {
        let page = self.page.unwrap_or(1);
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if page == 0 {
            return Err(AppError::field("page", "must be 1 or more"));
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(AppError::field("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        Ok((page, limit))
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// This page's number.
    pub page: u64,
    /// Page size.
    pub limit: u64,
    /// Items in the whole list.
    pub total: u64,
}

impl<T> Page<T> {
    /// Maps the items, keeping the paging facts.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), page: self.page, limit: self.limit, total: self.total }
    }

    /// Maps the items with a conversion that may fail (the first error wins).
    pub fn try_map<U>(self, f: impl FnMut(T) -> Result<U, AppError>) -> Result<Page<U>, AppError> {
        let items = self.items.into_iter().map(f).collect::<Result<_, _>>()?;
        Ok(Page { items, page: self.page, limit: self.limit, total: self.total })
    }
}
