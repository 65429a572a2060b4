//! The product-access rule, as a pure function. The store gathers the facts
//! (ownership, membership, token scope, demo flag); this decides. Keeping the
//! decision pure means the whole matrix is unit-tested in one place.

use crate::roles::MemberAccess;

/// Facts about one caller and one product, gathered by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessFacts {
    /// The caller owns the product.
    pub is_owner: bool,
    /// The caller's membership, if any.
    pub membership: Option<MemberAccess>,
    /// The caller is a read-only demo user.
    pub is_demo: bool,
    /// The caller is an administrator (sees everything, as a read-only auditor
    /// unless also owner or member).
    pub is_admin: bool,
    /// The request came with a token scoped to products, and this product is
    /// not among them.
    pub outside_token_scope: bool,
}

/// What the caller may do with the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProductAccess {
    /// The product does not exist for this caller: answer 404.
    None,
    /// May read; writes get 403.
    Read,
    /// May read and write backlog data.
    Write,
    /// Owner: may also manage members, settings and archive.
    Own,
}

impl ProductAccess {
    /// Whether reads are allowed.
    pub fn can_read(self) -> bool {
        self >= ProductAccess::Read
    }
    /// Whether backlog writes are allowed.
    pub fn can_write(self) -> bool {
        self >= ProductAccess::Write
    }
    /// Whether owner-only actions are allowed.
    pub fn can_manage(self) -> bool {
        self == ProductAccess::Own
    }
}

/// Decides the caller's access to a product.
///
/// Token scope hides products entirely (404), as if they did not exist, so a
/// scoped token cannot probe ids. Demo users never write, whatever else holds.
pub fn product_access(f: AccessFacts) -> ProductAccess {
    if f.outside_token_scope {
        return ProductAccess::None;
    }
    let base = if f.is_owner {
        ProductAccess::Own
    } else {
        match f.membership {
            Some(MemberAccess::ReadWrite) => ProductAccess::Write,
            Some(MemberAccess::ReadOnly) => ProductAccess::Read,
            None if f.is_admin => ProductAccess::Read,
            None => ProductAccess::None,
        }
    };
    if f.is_demo && base > ProductAccess::Read { ProductAccess::Read } else { base }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> AccessFacts {
        AccessFacts { is_owner: false, membership: None, is_demo: false, is_admin: false, outside_token_scope: false }
    }

    #[test]
    fn matrix_of_owner_members_outsider_demo_admin_and_scope() {
        let cases = [
            (AccessFacts { is_owner: true, ..facts() }, ProductAccess::Own),
            (AccessFacts { membership: Some(MemberAccess::ReadWrite), ..facts() }, ProductAccess::Write),
            (AccessFacts { membership: Some(MemberAccess::ReadOnly), ..facts() }, ProductAccess::Read),
            (facts(), ProductAccess::None),
            (AccessFacts { is_admin: true, ..facts() }, ProductAccess::Read),
            (AccessFacts { is_owner: true, is_demo: true, ..facts() }, ProductAccess::Read),
            (AccessFacts { membership: Some(MemberAccess::ReadWrite), is_demo: true, ..facts() }, ProductAccess::Read),
            (AccessFacts { is_demo: true, ..facts() }, ProductAccess::None),
            (AccessFacts { is_owner: true, outside_token_scope: true, ..facts() }, ProductAccess::None),
        ];
        for (f, want) in cases {
            assert_eq!(product_access(f), want, "{f:?}");
        }
    }

    #[test]
    fn capability_helpers_follow_the_order() {
        assert!(!ProductAccess::None.can_read());
        assert!(ProductAccess::Read.can_read() && !ProductAccess::Read.can_write());
        assert!(ProductAccess::Write.can_write() && !ProductAccess::Write.can_manage());
        assert!(ProductAccess::Own.can_manage());
    }
}
