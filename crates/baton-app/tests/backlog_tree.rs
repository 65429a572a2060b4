//! The backlog page's services on both backends: the tree read (order,
//! filters, context ancestors), codes resolved inside one product, and
//! placements that reorder and re-parent.

mod common;

use baton_app::{
    Actor, App, AppConfig, AppError,
    backlog::{
        pbis::NewPbi,
        refs::ItemKind,
        stories::NewStory,
        tasks::NewTask,
        tree::{BacklogTree, Position, TreeFilter},
    },
    products::NewProduct,
};
use baton_testkit::backend_tests;
use common::{member, product_owner, user};

struct Fx {
    _t: baton_testkit::TestDb,
    app: App,
    owner: Actor,
    pid: String,
}

/// PBI-1 (ST-001: T-1, T-2; ST-002), PBI-2 (ST-003).
async fn fx(t: baton_testkit::TestDb) -> Fx {
    let app = App::local(t.db.clone(), AppConfig::default());
    let owner = product_owner(&app, "olive").await;
    let input = NewProduct {
        name: "Shop".into(),
        code: Some("SHOP".into()),
        definition_of_done: "Reviewed".into(),
        ..Default::default()
    };
    let pid = app.create_product(&owner, input).await.expect("product").id;
    let p1 =
        app.create_pbi(&owner, &pid, NewPbi { title: "Checkout".into(), ..Default::default() }).await.expect("p1").id;
    let p2 =
        app.create_pbi(&owner, &pid, NewPbi { title: "Catalogue".into(), ..Default::default() }).await.expect("p2").id;
    let story = |t: &str| NewStory { title: t.into(), ..Default::default() };
    let s1 = app.create_story(&owner, &p1, story("Pay by card")).await.expect("s1").id;
    app.create_story(&owner, &p1, story("Pay by invoice")).await.expect("s2");
    app.create_story(&owner, &p2, story("Search")).await.expect("s3");
    for t in ["Card form", "Card API"] {
        app.create_task(&owner, &s1, NewTask { title: t.into(), priority: Some(1), ..Default::default() })
            .await
            .expect("task");
    }
    Fx { _t: t, app, owner, pid }
}

fn shape(tree: &BacklogTree) -> Vec<String> {
    let mut out = Vec::new();
    for b in &tree.pbis {
        out.push(format!("{}{}", b.pbi.code, if b.matched { "" } else { "~" }));
        for s in &b.stories {
            out.push(format!("  {}{}", s.story.code, if s.matched { "" } else { "~" }));
            for t in &s.tasks {
                out.push(format!("    {}", t.task.code));
            }
        }
    }
    out
}

async fn get(x: &Fx, f: TreeFilter) -> Result<BacklogTree, AppError> {
    x.app.backlog_tree(&x.owner, "SHOP", &f).await
}

async fn id(x: &Fx, kind: ItemKind, code: &str) -> String {
    x.app.backlog_item_id(&x.owner, &x.pid, kind, code).await.expect("id")
}

fn filter(f: impl FnOnce(&mut TreeFilter)) -> TreeFilter {
    let mut out = TreeFilter::default();
    f(&mut out);
    out
}

backend_tests! {
    async fn the_tree_reads_the_whole_backlog_in_order(t) {
        let x = fx(t).await;
        let tree = x.app.backlog_tree(&x.owner, "SHOP", &TreeFilter::default()).await.expect("tree");
        assert_eq!(shape(&tree), ["PBI-1", "  ST-001", "    T-1", "    T-2", "  ST-002", "PBI-2", "  ST-003"]);
        assert_eq!(tree.totals, (2, 3, 2));
        assert!(!tree.filtered);
        assert_eq!(tree.people.len(), 1);
        assert_eq!(tree.story_codes, ["ST-001", "ST-002", "ST-003"]);
    }

    async fn filters_keep_matches_with_their_ancestors_as_context(t) {
        let x = fx(t).await;
        let tree = get(&x, filter(|f| f.q = Some("API".into()))).await.expect("tree");
        assert_eq!(shape(&tree), ["PBI-1~", "  ST-001~", "    T-2"]);
        let tree = get(&x, filter(|f| f.priority = Some("1".into()))).await.expect("tree");
        assert_eq!(shape(&tree), ["PBI-1~", "  ST-001~", "    T-1", "    T-2"]);
        let tree = get(&x, filter(|f| { f.status = Some("open".into()); f.sprint = Some("none".into()); })).await.expect("tree");
        assert_eq!(shape(&tree), ["PBI-1~", "  ST-001", "  ST-002", "PBI-2~", "  ST-003"]);
        let tree = get(&x, filter(|f| f.assignee = Some("olive".into()))).await.expect("tree");
        assert!(tree.pbis.is_empty(), "nobody is assigned");
        let Err(AppError::Validation(v)) = get(&x, filter(|f| f.assignee = Some("mallory".into()))).await else { panic!("refused") };
        assert_eq!(v.0[0].path, "assignee");
    }

    async fn codes_resolve_only_inside_the_product_and_outsiders_see_nothing(t) {
        let x = fx(t).await;
        // Another product of the same owner has its own PBI-1.
        let other = x.app.create_product(&x.owner, NewProduct { name: "Other".into(), code: Some("OTH".into()), definition_of_done: "Reviewed".into(), ..Default::default() }).await.expect("other").id;
        let o1 = x.app.create_pbi(&x.owner, &other, NewPbi { title: "Elsewhere".into(), ..Default::default() }).await.expect("o1").id;
        let here = x.app.backlog_item_id(&x.owner, &x.pid, ItemKind::Pbi, "pbi-1").await.expect("here");
        let there = x.app.backlog_item_id(&x.owner, &other, ItemKind::Pbi, "PBI-1").await.expect("there");
        assert_ne!(here, there);
        assert_eq!(there, o1);
        assert!(matches!(x.app.backlog_item_id(&x.owner, &other, ItemKind::Story, "ST-001").await, Err(AppError::NotFound(_))));
        assert!(matches!(x.app.backlog_item_id(&x.owner, &x.pid, ItemKind::Task, "ST-001").await, Err(AppError::NotFound(_))));
        let outsider = user(&x.app, "mallory").await;
        assert!(matches!(x.app.backlog_tree(&outsider, &x.pid, &TreeFilter::default()).await, Err(AppError::NotFound(_))));
        assert!(matches!(x.app.backlog_item_id(&outsider, &x.pid, ItemKind::Pbi, "PBI-1").await, Err(AppError::NotFound(_))));
    }

    async fn placements_reorder_and_re_parent(t) {
        let x = fx(t).await;
        let st2 = id(&x, ItemKind::Story, "ST-002").await;
        x.app.place_story(&x.owner, &st2, Some("PBI-1"), Some(Position::Up)).await.expect("up");
        let t2 = id(&x, ItemKind::Task, "T-2").await;
        x.app.place_task(&x.owner, &t2, None, Some(Position::Top)).await.expect("top");
        let tree = x.app.backlog_tree(&x.owner, "SHOP", &TreeFilter::default()).await.expect("tree");
        assert_eq!(shape(&tree), ["PBI-1", "  ST-002", "  ST-001", "    T-2", "    T-1", "PBI-2", "  ST-003"]);
        // Into another PBI, before its story; a task into another story (its end).
        x.app.place_story(&x.owner, &st2, Some("PBI-2"), Some(Position::Before("ST-003".into()))).await.expect("re-parent");
        x.app.place_task(&x.owner, &t2, Some("ST-003"), None).await.expect("re-parent task");
        let p2 = id(&x, ItemKind::Pbi, "PBI-2").await;
        x.app.place_pbi(&x.owner, &p2, Position::Top).await.expect("pbi top");
        let tree = x.app.backlog_tree(&x.owner, "SHOP", &TreeFilter::default()).await.expect("tree");
        assert_eq!(shape(&tree), ["PBI-2", "  ST-002", "  ST-003", "    T-2", "PBI-1", "  ST-001", "    T-1"]);
        // Refusals name the field and change nothing.
        let Err(AppError::Validation(v)) = x.app.place_story(&x.owner, &st2, Some("PBI-9"), Some(Position::Top)).await else { panic!("refused") };
        assert_eq!(v.0[0].path, "pbi");
        let err = x.app.place_story(&x.owner, &st2, None, Some(Position::After("ST-001".into()))).await;
        assert!(matches!(err, Err(AppError::Validation(_))), "{err:?}");
        let again = x.app.backlog_tree(&x.owner, "SHOP", &TreeFilter::default()).await.expect("tree");
        assert_eq!(shape(&again), shape(&tree));
        // A read-only member may look but not place.
        let reader = user(&x.app, "rita").await;
        member(&x.app, &x.pid, &reader, "READ_ONLY").await;
        assert!(x.app.backlog_tree(&reader, "SHOP", &TreeFilter::default()).await.is_ok());
        assert!(matches!(x.app.place_pbi(&reader, &p2, Position::Bottom).await, Err(AppError::Forbidden(_))));
    }
}
