//! Account roles. One user may hold several; backlog and marketplace roles
//! share one enum because both halves share one account system.

crate::db_enum! {
    /// A role held by a user (`user_roles.role`).
    pub enum Role {
        /// Owns products and their backlog.
        ProductOwner => "PRODUCT_OWNER",
        /// Runs sprints.
        ScrumMaster => "SCRUM_MASTER",
        /// Builds: may be added as a product member; also a marketplace expert role.
        Developer => "DEVELOPER",
        /// Administers the installation: users, prices, settings.
        Admin => "ADMIN",
        /// Marketplace client who posts projects.
        Client => "CLIENT",
        /// Marketplace analyst expert.
        Analyst => "ANALYST",
        /// Marketplace product-manager expert.
        Pm => "PM",
        /// Marketplace architect expert.
        Architect => "ARCHITECT",
        /// Marketplace UX expert.
        Ux => "UX",
        /// Marketplace QA reviewer.
        Qa => "QA",
    }
}

crate::db_enum! {
    /// What a product member may do (`product_members.access`).
    pub enum MemberAccess {
        /// May read and change the product's backlog.
        ReadWrite => "READ_WRITE",
        /// May only read.
        ReadOnly => "READ_ONLY",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_between_db_and_api_forms() {
        for role in Role::ALL {
            assert_eq!(Role::from_db(role.as_db()), Some(*role));
            assert_eq!(Role::parse_api(&role.as_api()), Some(*role));
        }
        assert_eq!(Role::parse_api("product_owner"), Some(Role::ProductOwner));
        assert_eq!(Role::parse_api("wizard"), None);
    }

    #[test]
    fn serde_uses_lowercase_and_names_valid_values_on_error() {
        let json = serde_json_like(&MemberAccess::ReadOnly);
        assert_eq!(json, "read_only");
        assert!(MemberAccess::api_values().contains("read_write"));
    }

    fn serde_json_like(v: &MemberAccess) -> String {
        v.as_api()
    }
}
