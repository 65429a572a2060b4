//! Repositories: hand-written queries beside the entities.
