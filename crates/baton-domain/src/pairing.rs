//! QR login pairing states (`login_pairings.status`).

crate::db_enum! {
    /// Where a desktop ↔ phone login pairing is (the seed's lowercase strings
    /// are the API form).
    pub enum PairingStatus {
        /// Started by the desktop, waiting for the phone.
        Pending => "PENDING",
        /// Confirmed on the phone; the desktop may claim a session.
        Approved => "APPROVED",
        /// The desktop claimed its session; cannot be used again.
        Consumed => "CONSUMED",
        /// Not finished within its two minutes.
        Expired => "EXPIRED",
        /// Cancelled on the phone.
        Cancelled => "CANCELLED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_form_is_the_seed_lowercase() {
        let api: Vec<_> = PairingStatus::ALL.iter().map(|s| s.as_api()).collect();
        assert_eq!(api, ["pending", "approved", "consumed", "expired", "cancelled"]);
    }
}
