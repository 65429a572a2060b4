//! The marketplace as the page tests find it, built over REST only: a
//! client's project with a published brief, a PM opportunity with an
//! accepted bid (its escrow pending: no chain is configured here) and a
//! withdrawn one, two BMAD stories (1.1 approved by a score-9 GO validation, which
//! opened its developer opportunity, and 1.2 still a draft) and a pending
//! developer bid for the client to accept or reject.
//!
//! People (password [`PASSWORD`]; `ada` is the admin who set the site up):
//! `carla` client, `pam` and `pete` PM experts, `dev` developer, `quinn` QA,
//! `otto` an outsider developer, `demi` a demo client/PM.

use serde_json::{Value, json};

use crate::harness::*;

/// A proposal long enough for the ≥ 100 characters rule.
pub const PROPOSAL: &str =
    "I have shipped BMAD planning for three marketplaces and will start with a stakeholder interview tomorrow morning.";

/// Ids and tokens of the fixture.
pub struct Market {
    /// API token of each person, by username.
    pub tokens: std::collections::BTreeMap<&'static str, String>,
    /// The project (product) id and code.
    pub project_id: String,
    /// `WALK`.
    pub project_code: String,
    /// The PM opportunity (closed, `pam`'s bid accepted).
    pub pm_opportunity: String,
    /// `pam`'s accepted bid and `pete`'s withdrawn one.
    pub pm_bid: String,
    /// `pete`'s withdrawn bid.
    pub withdrawn_bid: String,
    /// The PM escrow (pending).
    pub pm_escrow: String,
    /// Story 1.2 (draft).
    pub draft_story: String,
    /// Story 1.1, approved with score 9.
    pub approved_story: String,
    /// The developer opportunity of story 1.1 (open).
    pub dev_opportunity: String,
    /// `dev`'s pending bid on it.
    pub dev_bid: String,
}

impl Market {
    /// The token of `user`.
    pub fn token(&self, user: &str) -> &str {
        self.tokens.get(user).map(String::as_str).unwrap_or_else(|| panic!("no token for {user}"))
    }
}

/// The id of a created object.
fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// A bid body of `amount` USDC cents.
pub fn bid(amount: i64) -> Value {
    json!({"amount": amount, "currency": "usdc", "proposal": PROPOSAL, "estimated_hours": 20})
}

/// Builds the fixture; `b` sets the site up as `ada` (admin) first.
pub async fn market(site: &Site, b: &Browser) -> Market {
    b.setup_admin("ada", PASSWORD).await;
    let mut tokens = std::collections::BTreeMap::new();
    tokens.insert("ada", site.token("ada").await);
    for (name, extra) in [
        ("carla", &["--role", "client"][..]),
        ("pam", &["--role", "pm"][..]),
        ("pete", &["--role", "pm"][..]),
        ("dev", &["--role", "developer"][..]),
        ("quinn", &["--role", "qa"][..]),
        ("otto", &["--role", "developer"][..]),
        ("demi", &["--role", "client", "--role", "pm", "--demo"][..]),
    ] {
        site.create_user(name, extra).await;
        tokens.insert(name, site.token(name).await);
    }
    let t = |u: &str| tokens[u].clone();
    let project = site
        .api_ok(
            &t("carla"),
            "POST",
            "/api/projects",
            Some(&json!({"name": "Walkies", "code": "WALK", "brief": "# Walkies\n\nDog walkers on demand."})),
        )
        .await;
    let project_id = id(&project);
    site.api_ok(&t("carla"), "POST", &format!("/api/projects/{project_id}/brief/publish"), Some(&json!({}))).await;
    let pm = json!({"stage": "pm", "title": "Write the PRD", "description": "A BMAD PRD for **Walkies**.",
        "budget": {"min": 80_000, "max": 150_000, "currency": "usdc"}});
    let opp = site.api_ok(&t("carla"), "POST", &format!("/api/projects/{project_id}/opportunities"), Some(&pm)).await;
    let pm_opportunity = id(&opp);
    let bids = format!("/api/opportunities/{pm_opportunity}/bids");
    let pm_bid = id(&site.api_ok(&t("pam"), "POST", &bids, Some(&bid(100_000))).await);
    let withdrawn_bid = id(&site.api_ok(&t("pete"), "POST", &bids, Some(&bid(90_000))).await);
    site.api_ok(&t("pete"), "POST", &format!("/api/bids/{withdrawn_bid}/withdraw"), Some(&json!({}))).await;
    site.api_ok(&t("carla"), "POST", &format!("/api/bids/{pm_bid}/accept"), Some(&json!({}))).await;
    let escrows = site.api_get(&t("carla"), &format!("/api/projects/{project_id}/escrows")).await;
    let pm_escrow = escrows[0]["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("the accepted bid created an escrow: {escrows}"));
    let stories = format!("/api/projects/{project_id}/stories");
    let s1 = json!({"epic": 1, "number": "1", "title": "Sign up as a walker", "epic_title": "Walkers",
        "description": "As a walker I want to sign up.", "story_file": "docs/stories/1.1.sign-up.md"});
    let approved_story = site.api_ok(&t("carla"), "POST", &stories, Some(&s1)).await["story"]["id"]
        .as_str()
        .map(str::to_string)
        .expect("story id");
    let s2 = json!({"epic": 1, "number": "2", "title": "Book a walk", "description": "As an owner I want to book a walk.",
        "story_file": "docs/stories/1.2.book.md"});
    let draft_story = site.api_ok(&t("carla"), "POST", &stories, Some(&s2)).await["story"]["id"]
        .as_str()
        .map(str::to_string)
        .expect("story id");
    let v = json!({"score": 9, "decision": "go"});
    site.api_ok(&t("carla"), "POST", &format!("/api/stories/{approved_story}/validation"), Some(&v)).await;
    let open = site.api_get(&t("dev"), "/api/opportunities?stage=developer").await;
    let dev_opportunity = open["items"][0]["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("the approved story opened a developer opportunity: {open}"));
    let dev_bid = id(&site
        .api_ok(&t("dev"), "POST", &format!("/api/opportunities/{dev_opportunity}/bids"), Some(&bid(120_000)))
        .await);
    Market {
        tokens,
        project_id,
        project_code: "WALK".into(),
        pm_opportunity,
        pm_bid,
        withdrawn_bid,
        pm_escrow,
        draft_story,
        approved_story,
        dev_opportunity,
        dev_bid,
    }
}
