//! The read models of the sprint pages, on both backends: codes resolved
//! within one product (the same `ST-001` in two products), the board read
//! (default sprint, order, roll-up counts, assignee), planning (backlog by
//! PBI without done or planned stories, open sprints) and sprint progress;
//! other people's products are not found.

mod common;

use baton_app::{
    Actor, App, AppConfig, AppError,
    backlog::{pbis::NewPbi, stories::NewStory, tasks::NewTask},
    sprints::{AddStories, NewSprint},
};
use baton_domain::backlog::{PbiStatus, StoryStatus, TaskStatus};
use baton_testkit::backend_tests;
use common::{product_of, product_owner, user};

/// A product with one PBI of `stories` stories of two tasks each; returns
/// (product id, story ids, task ids).
async fn product(app: &App, owner: &Actor, name: &str, stories: usize) -> (String, Vec<String>, Vec<String>) {
    let pid = product_of(app, owner, name).await;
    let p =
        app.create_pbi(owner, &pid, NewPbi { title: format!("{name} PBI"), ..Default::default() }).await.expect("pbi");
    let (mut st, mut tk) = (vec![], vec![]);
    for i in 0..stories {
        let s = app
            .create_story(owner, &p.id, NewStory { title: format!("story {i}"), ..Default::default() })
            .await
            .expect("story");
        for j in 0..2 {
            let t = app
                .create_task(owner, &s.id, NewTask { title: format!("task {i}.{j}"), ..Default::default() })
                .await
                .expect("task");
            tk.push(t.task.id);
        }
        st.push(s.id);
    }
    (pid, st, tk)
}

async fn sprint(app: &App, owner: &Actor, pid: &str, goal: &str) -> String {
    app.create_sprint(owner, pid, NewSprint { sprint_goal: goal.into(), ..Default::default() })
        .await
        .expect("sprint")
        .id
}

backend_tests! {
    async fn codes_resolve_within_their_product_only(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = product_owner(&app, "owner").await;
        let outsider = user(&app, "outsider").await;
        let (a, a_stories, a_tasks) = product(&app, &owner, "A", 1).await;
        let (b, b_stories, b_tasks) = product(&app, &owner, "B", 1).await;
        let sa = sprint(&app, &owner, &a, "A sprint").await;
        sprint(&app, &owner, &b, "B sprint").await;

        assert_eq!(app.product_story_id(&owner, &a, "ST-001").await.expect("a"), a_stories[0]);
        assert_eq!(app.product_story_id(&owner, &b, "st-1").await.expect("b"), b_stories[0]);
        assert_eq!(app.product_task_id(&owner, &a, "t-1").await.expect("a"), a_tasks[0]);
        assert_eq!(app.product_task_id(&owner, &b, "T-1").await.expect("b"), b_tasks[0]);
        assert_eq!(app.product_sprint(&owner, &a, "sp-1").await.expect("a").id, sa);
        // Another product's ids, unknown codes, and outsiders: not found.
        assert!(matches!(app.product_story_id(&owner, &a, &b_stories[0]).await, Err(AppError::NotFound(_))));
        assert!(matches!(app.product_task_id(&owner, &a, "T-99").await, Err(AppError::NotFound(_))));
        assert!(matches!(app.product_sprint(&owner, &a, "SP-9").await, Err(AppError::NotFound(_))));
        assert!(matches!(app.product_story_id(&outsider, &a, "ST-001").await, Err(AppError::NotFound(_))));
        assert!(matches!(app.board_read(&outsider, &a, None).await, Err(AppError::NotFound(_))));
        assert!(matches!(app.planning_read(&outsider, &a).await, Err(AppError::NotFound(_))));
        assert!(matches!(app.sprint_progress(&outsider, &a).await, Err(AppError::NotFound(_))));
    }

    async fn board_planning_and_progress_read_the_sprint_pages(t) {
        let app = App::local(t.db.clone(), AppConfig::default());
        let owner = product_owner(&app, "owner").await;
        let (pid, stories, tasks) = product(&app, &owner, "P", 3).await;

        let empty = app.board_read(&owner, &pid, None).await.expect("board");
        assert!(empty.sprint.is_none() && empty.cards.is_empty());

        let first = sprint(&app, &owner, &pid, "First").await;
        let second = sprint(&app, &owner, &pid, "Second").await;
        app.add_stories_to_sprint(&owner, &first, AddStories { story_ids: stories[..2].to_vec() }).await.expect("plan");
        app.add_stories_to_sprint(&owner, &second, AddStories { story_ids: stories[2..].to_vec() }).await.expect("plan");
        let patch = baton_app::backlog::stories::StoryPatch { assignee_id: Some(Some(owner.user_id.clone())), ..Default::default() };
        app.update_story(&owner, &stories[0], patch).await.expect("assign");
        app.update_task_status(&owner, &tasks[0], TaskStatus::Done, None).await.expect("done");

        // The newest open sprint by default, another by code.
        let b = app.board_read(&owner, &pid, None).await.expect("board");
        assert_eq!(b.sprint.as_ref().map(|s| s.code.as_str()), Some("SP-2"));
        assert_eq!(b.sprints.len(), 2);
        assert_eq!(b.lanes.iter().map(|l| l.code.as_str()).collect::<Vec<_>>(), ["ST-003"]);
        let b = app.board_read(&owner, &pid, Some("sp-1")).await.expect("board");
        assert_eq!(b.lanes.iter().map(|l| l.code.as_str()).collect::<Vec<_>>(), ["ST-001", "ST-002"]);
        assert_eq!(b.cards.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), ["T-1", "T-2", "T-3", "T-4"]);
        assert_eq!((b.lanes[0].tasks, b.lanes[0].tasks_done), (2, 1));
        assert_eq!(b.lanes[0].assignee.as_deref(), Some("owner"));
        assert_eq!(b.cards[0].assignee.as_deref(), Some("owner"));
        assert_eq!(b.cards[0].status, TaskStatus::Done);
        assert_eq!(b.cards[2].story_code, "ST-002");
        assert_eq!(b.lanes[0].pbi_code, "PBI-1");
        assert_eq!(b.lanes[0].pbi_status, PbiStatus::Ready);
        assert!(matches!(app.board_read(&owner, &pid, Some("SP-7")).await, Err(AppError::NotFound(_))));

        // Story 1 done; story 2 back to the backlog.
        app.update_task_status(&owner, &tasks[1], TaskStatus::Done, None).await.expect("done");
        app.remove_story_from_sprint(&owner, &first, &stories[1]).await.expect("remove");
        let b = app.board_read(&owner, &pid, Some("SP-1")).await.expect("board");
        assert_eq!(b.lanes[0].status, StoryStatus::Done);
        assert_eq!(b.lanes.len(), 1);

        let plan = app.planning_read(&owner, &pid).await.expect("planning");
        assert_eq!(plan.backlog.len(), 1);
        assert_eq!(plan.backlog[0].stories.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), ["ST-002"]);
        assert_eq!(plan.backlog[0].stories[0].tasks, 2);
        assert_eq!(plan.sprints.iter().map(|s| s.sprint.code.as_str()).collect::<Vec<_>>(), ["SP-2", "SP-1"]);
        assert_eq!(plan.sprints[1].stories.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), ["ST-001"]);

        let progress = app.sprint_progress(&owner, &pid).await.expect("progress");
        let sp1 = progress.iter().find(|p| p.sprint.code == "SP-1").expect("SP-1");
        assert_eq!((sp1.stories, sp1.stories_done, sp1.tasks, sp1.tasks_done), (1, 1, 2, 2));
        let sp2 = progress.iter().find(|p| p.sprint.code == "SP-2").expect("SP-2");
        assert_eq!((sp2.stories, sp2.stories_done, sp2.tasks, sp2.tasks_done), (1, 0, 2, 0));
        assert!(sp2.latest_run.is_none());
    }
}
