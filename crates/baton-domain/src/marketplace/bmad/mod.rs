//! Parsers for the BMAD-METHOD files a marketplace repository holds
//! (marketplace reference §12): story files, QA gates, validate-next-story
//! reports, and the table-driven status mapper.
