//! The marketplace fixture builds on both backends and is what its doc says.

use crate::harness::*;
use crate::market_fixture::market;

browser_tests! {
    /// Every object of the fixture exists in the state the page tests rely on.
    async fn the_market_fixture_is_in_the_documented_state(site) {
        let b = site.browser(Js::On).await;
        let m = market(&site, &b).await;
        let carla = m.token("carla");
        let opp = site.api_get(carla, &format!("/api/opportunities/{}", m.pm_opportunity)).await;
        assert_eq!(opp["status"], "closed", "{opp}");
        let escrow = site.api_get(carla, &format!("/api/escrows/{}", m.pm_escrow)).await;
        assert_eq!(escrow["status"], "pending", "{escrow}");
        let stories = site.api_get(carla, &format!("/api/projects/{}/stories", m.project_id)).await;
        let states: Vec<(String, String)> = stories
            .as_array()
            .or_else(|| stories["items"].as_array())
            .expect("story list")
            .iter()
            .map(|s| (s["number"].as_str().unwrap_or("").to_string(), s["workflow_status"].as_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(states, vec![("1.1".to_string(), "approved".to_string()), ("1.2".to_string(), "draft".to_string())]);
        let bids = site.api_get(carla, &format!("/api/opportunities/{}/bids", m.dev_opportunity)).await;
        assert_eq!(bids[0]["id"].as_str(), Some(m.dev_bid.as_str()), "{bids}");
        assert_eq!(bids[0]["status"], "pending", "{bids}");
        let mine = site.api_get(m.token("pete"), "/api/me/bids").await;
        let mine = mine.as_array().or_else(|| mine["items"].as_array()).expect("my bids");
        assert_eq!(mine[0]["id"].as_str(), Some(m.withdrawn_bid.as_str()));
        assert_eq!(mine[0]["status"], "withdrawn");
        let _ = (&m.project_code, &m.pm_bid, &m.draft_story, &m.approved_story);
    }
}
