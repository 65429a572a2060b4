//! The expert's marketplace pages in a real browser (area "browse"), on the
//! shared marketplace fixture: browse → opportunity → bid with the live fee
//! preview and character counter → my bids → withdraw, with JavaScript on
//! and again with it off (the "Preview fee" button and plain forms); a tour
//! of every page of the area through `check_page`; and the demo user, who
//! sees no enabled write control and whose forged posts change nothing.

use std::time::Duration;

use crate::harness::*;
use crate::market_fixture::{PROPOSAL, market};

const WAIT: Duration = Duration::from_secs(10);

browser_tests! {
    /// With JavaScript: the fee preview follows the amount as it is typed,
    /// the counter counts the proposal, and the bid lands in "My bids".
    async fn an_expert_bids_with_the_live_fee_preview_and_withdraws(site) {
        let b = site.browser(Js::On).await;
        let m = market(&site, &b).await;
        b.logout().await;
        b.login("otto", PASSWORD).await;
        b.goto("/opportunities").await;
        b.check_page("market-browse").await;
        let row = format!("#opportunity-{}", m.dev_opportunity);
        b.wait_for(&row, WAIT).await;
        b.click_and_wait_page(&format!("{row} a[data-open]")).await;
        assert_eq!(b.path().await, format!("/opportunities/{}", m.dev_opportunity));
        b.fill("#bid-amount", "1100").await;
        b.wait_js("document.querySelector('#fee-preview [data-fee=receives]')?.textContent.includes('1045.00')", WAIT).await;
        b.fill("#bid-proposal", "Too short").await;
        b.wait_js("document.querySelector('#proposal-count').textContent.includes('more needed')", WAIT).await;
        b.fill("#bid-proposal", PROPOSAL).await;
        b.wait_js("!document.querySelector('#proposal-count').textContent.includes('more needed')", WAIT).await;
        b.check_page("market-opportunity-bid-form").await;
        b.click_and_wait_page("#submit-bid").await;
        b.wait_for("#my-bid", WAIT).await;
        assert_eq!(b.data_status("#my-bid").await.as_deref(), Some("pending"));
        b.check_page("market-opportunity-my-bid").await;
        b.goto("/me/bids").await;
        b.check_page("market-my-bids").await;
        let mine = site.api_get(m.token("otto"), "/api/me/bids").await;
        let bid = mine["items"][0]["id"].as_str().expect("otto's bid").to_string();
        assert_eq!(mine["items"][0]["amount"], 110_000, "{mine}");
        b.click_and_wait_page(&format!("#withdraw-{bid}")).await;
        assert_eq!(b.path().await, "/me/bids");
        assert_eq!(b.data_status(&format!("#bid-{bid}")).await.as_deref(), Some("withdrawn"));
        b.goto("/experts/pam").await;
        b.check_page("market-expert").await;
        // The client sees the bids with accept and reject.
        b.logout().await;
        b.login("carla", PASSWORD).await;
        b.goto(&format!("/opportunities/{}", m.dev_opportunity)).await;
        b.wait_for(&format!("#accept-{}", m.dev_bid), WAIT).await;
        b.check_page("market-opportunity-client").await;
        b.click_and_wait_page(&format!("#accept-{}", m.dev_bid)).await;
        let bids = site.api_get(m.token("carla"), &format!("/api/opportunities/{}/bids", m.dev_opportunity)).await;
        let accepted = bids.as_array().expect("bids").iter().find(|x| x["id"] == m.dev_bid.as_str()).expect("dev bid").clone();
        assert_eq!(accepted["status"], "accepted", "{bids}");
    }

    /// Without JavaScript: "Preview fee" re-renders the page with the
    /// preview, and the bid is a plain form post.
    async fn an_expert_bids_without_javascript(site) {
        let admin = site.browser(Js::On).await;
        let m = market(&site, &admin).await;
        let b = site.browser(Js::Off).await;
        b.login("otto", PASSWORD).await;
        let path = format!("/opportunities/{}", m.dev_opportunity);
        b.goto(&path).await;
        b.fill("#bid-amount", "1100").await;
        b.fill("#bid-proposal", PROPOSAL).await;
        b.click_and_wait_page("#preview-fee").await;
        assert!(b.text("#fee-preview").await.contains("1045.00 USDC"), "{}", b.text("#fee-preview").await);
        assert_eq!(site.api_get(m.token("otto"), "/api/me/bids").await["total"], 0, "a preview writes nothing");
        b.check_page("market-opportunity-preview-nojs").await;
        b.click_and_wait_page("#submit-bid").await;
        assert_eq!(b.data_status("#my-bid").await.as_deref(), Some("pending"));
        let mine = site.api_get(m.token("otto"), "/api/me/bids").await;
        assert_eq!((mine["total"].as_i64(), mine["items"][0]["amount"].as_i64()), (Some(1), Some(110_000)), "{mine}");
        b.goto("/opportunities?stage=developer&sort=highest").await;
        assert!(b.count(&format!("#opportunity-{}", m.dev_opportunity)).await == 1);
        b.check_page("market-browse-nojs").await;
    }

    /// The demo user sees every page of the area with no enabled write
    /// control, and forged posts are refused with the database unchanged.
    async fn demo_users_browse_read_only(site) {
        let admin = site.browser(Js::On).await;
        let m = market(&site, &admin).await;
        let b = site.browser(Js::On).await;
        b.login("demi", PASSWORD).await;
        for (path, name) in [
            ("/opportunities".to_string(), "market-browse-demo"),
            (format!("/opportunities/{}", m.dev_opportunity), "market-opportunity-demo"),
            ("/me/bids".to_string(), "market-my-bids-demo"),
            ("/experts/pam".to_string(), "market-expert-demo"),
        ] {
            b.goto(&path).await;
            b.assert_no_enabled_write_controls().await;
            b.check_page(name).await;
        }
        let before = site.table_counts(&["sessions"]).await;
        let base = format!("/opportunities/{}", m.dev_opportunity);
        let fields = [("amount", "1100"), ("currency", "usdc"), ("proposal", PROPOSAL)];
        assert_eq!(b.fetch_post(&format!("{base}/bids"), &fields).await, 403);
        assert_eq!(b.fetch_post(&format!("{base}/bids/{}/accept", m.dev_bid), &[]).await, 403);
        assert_eq!(b.fetch_post(&format!("{base}/bids/{}/withdraw", m.dev_bid), &[]).await, 403);
        assert_eq!(site.table_counts(&["sessions"]).await, before, "refused posts changed nothing");
    }
}
