//! The expert marketplace (marketplace reference): projects, opportunities,
//! bids, escrows, stories with their QA gates. It runs on the backlog's data
//! (a project is a product, an epic a PBI, a BMAD story a story); its pure
//! rules live in `baton_domain::marketplace`, its chain checks behind one
//! trait in [`chain`].

pub mod bids;
pub mod chain;
pub mod deliverables;
pub mod documents;
pub mod escrows;
pub mod import;
pub mod opportunities;
pub mod projects;
pub mod ratings;
pub mod stories;
