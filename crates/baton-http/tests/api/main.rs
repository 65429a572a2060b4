//! HTTP tests: the whole router (middleware, handlers, services, real
//! database) driven in-process with `oneshot`, on SQLite and Postgres.

mod harness;

mod auth;
mod bulk;
mod context;
mod contract;
mod escrows;
mod export;
mod idea_dispatch;
mod ideas;
mod items;
mod job_kinds;
mod jobs;
mod market;
mod market_documents;
mod market_import;
mod market_stories;
mod members;
mod openapi;
mod pages;
mod pages_agents;
mod pages_backlog;
mod pages_board;
mod pages_ideas;
mod pages_jobs;
mod pages_market_browse;
mod pages_market_client;
mod pages_market_story;
mod pages_people;
mod pages_sprints;
mod pbi_pr;
mod prices;
mod products;
mod propagation;
mod questions;
mod queue_status;
mod realtime;
mod security;
mod sprint_runs;
mod sprints;
mod tokens;
mod users;
mod workers;
