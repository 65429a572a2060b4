//! Pagination shared by every list: `page` (1-based, at most
//! [`MAX_PAGE`]) and `limit` (default 50, at most 200), answered with the
//! total so clients can page.

use serde::{Deserialize, Serialize};

use crate::AppError;

/// Largest page size.
pub const MAX_LIMIT: u64 = 200;
/// Page size when none is asked for.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page number. With [`MAX_LIMIT`] the deepest offset stays far
/// inside every integer type the databases take (a page past the end of any
/// real list is empty long before this), so no offset can overflow.
pub const MAX_PAGE: u64 = 1_000_000;

/// Which page to return.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1 to 1000000.
    #[param(minimum = 1, maximum = 1_000_000)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

impl PageParams {
    /// The validated (page, limit); errors name the parameter.
    pub fn resolve(self) -> Result<(u64, u64), AppError> {
        let page = self.page.unwrap_or(1);
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if page == 0 || page > MAX_PAGE {
            return Err(AppError::field("page", format!("must be between 1 and {MAX_PAGE}")));
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(AppError::field("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        Ok((page, limit))
    }

    /// The validated (page, limit) and the number of rows before the page.
    pub fn window(self) -> Result<(u64, u64, u64), AppError> {
        let (page, limit) = self.resolve()?;
        Ok((page, limit, offset(page, limit)?))
    }
}

/// Rows before `page` (1-based) of `limit` rows, computed without overflow:
/// a page whose offset does not fit is refused naming `page`.
pub fn offset(page: u64, limit: u64) -> Result<u64, AppError> {
    page.checked_sub(1)
        .and_then(|p| p.checked_mul(limit))
        // The databases take signed 64-bit offsets.
        .filter(|o| i64::try_from(*o).is_ok())
        .ok_or_else(|| AppError::field("page", format!("must be between 1 and {MAX_PAGE}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: AppError) -> String {
        match e {
            AppError::Validation(v) => v.0[0].path.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn page_is_capped_and_named() {
        assert_eq!(
            PageParams { page: Some(MAX_PAGE), limit: Some(MAX_LIMIT) }.resolve().ok(),
            Some((MAX_PAGE, MAX_LIMIT))
        );
        for page in [0, MAX_PAGE + 1, i64::MAX as u64 + 1, u64::MAX] {
            let e = PageParams { page: Some(page), limit: None }.resolve().expect_err("out of range");
            assert_eq!(field_of(e), "page", "page {page}");
        }
        let e = PageParams { page: None, limit: Some(MAX_LIMIT + 1) }.resolve().expect_err("limit too big");
        assert_eq!(field_of(e), "limit");
    }

    #[test]
    fn offsets_are_checked() {
        assert_eq!(offset(1, 50).ok(), Some(0));
        assert_eq!(offset(3, 50).ok(), Some(100));
        assert_eq!(
            PageParams { page: Some(MAX_PAGE), limit: Some(MAX_LIMIT) }.window().ok(),
            Some((MAX_PAGE, MAX_LIMIT, (MAX_PAGE - 1) * MAX_LIMIT))
        );
        assert_eq!(field_of(offset(0, 50).expect_err("page 0")), "page");
        assert_eq!(field_of(offset(u64::MAX, 2).expect_err("overflow")), "page");
        assert_eq!(field_of(offset(i64::MAX as u64, 2).expect_err("past i64")), "page");
    }
}
