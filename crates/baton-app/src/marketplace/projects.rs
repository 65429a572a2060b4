//! Projects: products with a client owner, a status, a stage and a brief.
