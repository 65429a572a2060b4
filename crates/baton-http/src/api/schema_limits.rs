//! The limits in the request schemas are literals (utoipa takes no
//! constants); this test holds them to the constants the services check, so
//! the document cannot drift from the validation it describes.

use baton_app::{backlog, bulk, ideas, products, sprints, tokens};
use baton_domain::{backlog::PRIORITY_RANGE, pull_requests, validation};
use serde_json::Value;

fn property(doc: &Value, schema: &str, field: &str) -> Value {
    doc["components"]["schemas"][schema]["properties"][field].clone()
}

fn number(v: &Value, key: &str) -> Option<u64> {
    v[key].as_u64().or_else(|| v[key].as_f64().map(|f| f as u64))
}

#[test]
fn request_schema_limits_are_the_services_limits() {
    let doc = serde_json::to_value(crate::openapi()).expect("document");
    let max_len = [
        ("NewProduct", "name", products::MAX_NAME),
        ("NewProduct", "code", products::MAX_CODE),
        ("NewProduct", "description", products::MAX_TEXT),
        ("ProductPatch", "definition_of_done", products::MAX_TEXT),
        ("NewPbi", "title", backlog::MAX_TITLE),
        ("NewStory", "acceptance_criteria", backlog::MAX_TEXT),
        ("NewTask", "implementation_plan", backlog::MAX_PLAN),
        ("TaskPatch", "title", backlog::MAX_TITLE),
        ("NewStoryLog", "content", backlog::story_logs::MAX_CONTENT),
        ("NewStoryLog", "commit_message", backlog::story_logs::MAX_COMMIT_MESSAGE),
        ("NewSprint", "sprint_goal", sprints::MAX_GOAL),
        ("NewSprint", "code", sprints::MAX_CODE),
        ("NewUser", "password", validation::MAX_PASSWORD_LEN),
        ("PbiPrInput", "pr_url", pull_requests::MAX_PR_URL),
        ("NewIdea", "title", backlog::MAX_TITLE),
        ("NewIdea", "description", backlog::MAX_TEXT),
        ("IdeaPatch", "title", backlog::MAX_TITLE),
        ("IdeaPatch", "description", backlog::MAX_TEXT),
        ("NewIdeaLog", "content", ideas::MAX_LOG_CONTENT),
    ];
    for (schema, field, max) in max_len {
        let p = property(&doc, schema, field);
        assert_eq!(number(&p, "maxLength"), Some(max as u64), "{schema}.{field}: {p}");
    }
    assert_eq!(number(&property(&doc, "NewUser", "password"), "minLength"), Some(validation::MIN_PASSWORD_LEN as u64));
    let max_items = [
        ("AddStories", "story_ids", sprints::MAX_STORIES_PER_REQUEST),
        ("ReorderInput", "ids", bulk::MAX_BULK_IDS),
        ("BulkStatusInput", "ids", bulk::MAX_BULK_IDS),
        ("NewIdea", "product_ids", ideas::MAX_SECONDARY_PRODUCTS),
        ("IdeaPatch", "product_ids", ideas::MAX_SECONDARY_PRODUCTS),
    ];
    for (schema, field, max) in max_items {
        let p = property(&doc, schema, field);
        assert_eq!(number(&p, "maxItems"), Some(max as u64), "{schema}.{field}: {p}");
    }
    let maximum = [
        ("NewProduct", "thinking_budget_default", products::MAX_THINKING_BUDGET as u64),
        ("NewToken", "expires_in_days", u64::from(tokens::MAX_TOKEN_DAYS)),
    ];
    for (schema, field, max) in maximum {
        let p = property(&doc, schema, field);
        assert_eq!(number(&p, "maximum"), Some(max), "{schema}.{field}: {p}");
    }
    // Priorities are 1–4 wherever one is given.
    for schema in ["NewPbi", "PbiPatch", "NewStory", "StoryPatch", "NewTask", "TaskPatch"] {
        let p = property(&doc, schema, "priority");
        let range = (number(&p, "minimum"), number(&p, "maximum"));
        let (lo, hi) = (*PRIORITY_RANGE.start(), *PRIORITY_RANGE.end());
        assert_eq!(range, (Some(lo as u64), Some(hi as u64)), "{schema}.priority: {p}");
    }
}
