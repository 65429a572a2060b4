//! Checking an export and writing it as a new product, in one transaction.

use std::collections::{HashMap, HashSet};

use baton_domain::{
    ValidationErrors, access::ProductAccess, backlog::StoryLogType, codes::CodeKind, validation::check_text,
};
use baton_store::{
    Db,
    entities::{pbi, product, sprint, story, story_log, task},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait, TransactionTrait},
};

use super::{BacklogExport, EXPORT_FORMAT, EXPORT_VERSION, ImportResult};
use crate::{
    Actor, App, AppError, AppResult, AuthVia,
    products::{
        MAX_CODE, MAX_NAME, NewProduct, Settings, check_repo_url, owner_clashes, product_unique_error, product_view,
    },
    txn::note_code,
};

/// Rows per multi-row insert (keeps under SQLite's parameter limit).
pub(super) const CHUNK: usize = 500;

fn check_item_code(errs: &mut ValidationErrors, path: &str, code: &str, seen: &mut HashMap<String, String>) {
    let len = code.chars().count();
    if code.trim() != code || len == 0 || len > MAX_CODE {
        errs.add(path, format!("must be 1 to {MAX_CODE} characters without surrounding spaces"));
    } else if let Some(first) = seen.get(code) {
        errs.add(path, format!("`{code}` is used twice (also at {first})"));
    } else {
        seen.insert(code.to_string(), path.to_string());
    }
}

fn check_priority(errs: &mut ValidationErrors, path: &str, p: i32) {
    if !baton_domain::backlog::PRIORITY_RANGE.contains(&p) {
        errs.add(path, "must be between 1 and 4");
    }
}

fn check_sort(errs: &mut ValidationErrors, path: &str, v: f64) {
    if !v.is_finite() {
        errs.add(path, "must be a finite number");
    }
}

fn check_opt(errs: &mut ValidationErrors, path: &str, v: &Option<String>, max: usize) {
    if let Some(v) = v {
        check_text(errs, path, v, 0, max);
    }
}

/// Validates a whole export; every problem is named by its path.
fn validate(e: &BacklogExport, errs: &mut ValidationErrors) {
    if e.format != EXPORT_FORMAT {
        errs.add("format", format!("must be `{EXPORT_FORMAT}`"));
    }
    if e.version != EXPORT_VERSION {
        errs.add("version", format!("must be {EXPORT_VERSION} (this build reads version {EXPORT_VERSION} exports)"));
    }
    let mut sprint_codes = HashMap::new();
    for (i, s) in e.sprints.iter().enumerate() {
        let p = format!("sprints.{i}");
        check_item_code(errs, &format!("{p}.code"), &s.code, &mut sprint_codes);
        check_text(errs, &format!("{p}.sprint_goal"), &s.sprint_goal, 1, 500);
    }
    let (mut pbi_codes, mut story_codes, mut task_codes) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut epics = HashSet::new();
    let mut bmad = HashSet::new();
    for (i, b) in e.pbis.iter().enumerate() {
        let p = format!("pbis.{i}");
        check_item_code(errs, &format!("{p}.code"), &b.code, &mut pbi_codes);
        check_text(errs, &format!("{p}.title"), &b.title, 1, 200);
        check_opt(errs, &format!("{p}.description"), &b.description, 4000);
        check_priority(errs, &format!("{p}.priority"), b.priority);
        check_sort(errs, &format!("{p}.sort_order"), b.sort_order);
        check_opt(errs, &format!("{p}.pr_url"), &b.pr_url, 500);
        if let Some(n) = b.epic_number
            && !epics.insert(n)
        {
            errs.add(&format!("{p}.epic_number"), format!("epic {n} is used by two PBIs"));
        }
        for (j, s) in b.stories.iter().enumerate() {
            let p = format!("{p}.stories.{j}");
            check_item_code(errs, &format!("{p}.code"), &s.code, &mut story_codes);
            check_text(errs, &format!("{p}.title"), &s.title, 1, 200);
            check_opt(errs, &format!("{p}.description"), &s.description, 4000);
            check_opt(errs, &format!("{p}.acceptance_criteria"), &s.acceptance_criteria, 4000);
            check_priority(errs, &format!("{p}.priority"), s.priority);
            check_sort(errs, &format!("{p}.sort_order"), s.sort_order);
            if let Some(c) = &s.sprint_code
                && !sprint_codes.contains_key(c)
            {
                errs.add(&format!("{p}.sprint_code"), format!("no sprint `{c}` in this export"));
            }
            check_opt(errs, &format!("{p}.story_number"), &s.story_number, 20);
            if let (Some(ep), Some(sn)) = (s.epic_number, &s.story_number)
                && !bmad.insert((ep, sn.clone()))
            {
                errs.add(&format!("{p}.story_number"), format!("story {ep}.{sn} appears twice"));
            }
            for (k, t) in s.tasks.iter().enumerate() {
                let p = format!("{p}.tasks.{k}");
                check_item_code(errs, &format!("{p}.code"), &t.code, &mut task_codes);
                check_text(errs, &format!("{p}.title"), &t.title, 1, 200);
                check_opt(errs, &format!("{p}.description"), &t.description, 4000);
                check_opt(errs, &format!("{p}.implementation_plan"), &t.implementation_plan, 8000);
                check_priority(errs, &format!("{p}.priority"), t.priority);
                check_sort(errs, &format!("{p}.sort_order"), t.sort_order);
                if let Some(u) = &t.repo_url {
                    check_repo_url(errs, &format!("{p}.repo_url"), u);
                }
            }
            for (k, l) in s.logs.iter().enumerate() {
                let p = format!("{p}.logs.{k}");
                check_text(errs, &format!("{p}.content"), &l.content, 0, 100_000);
                match l.log_type {
                    StoryLogType::TestResult if l.status.is_none() => {
                        errs.add(&format!("{p}.status"), "is required for a test result (passed or failed)")
                    }
                    StoryLogType::TestResult => {}
                    _ if l.status.is_some() => errs.add(&format!("{p}.status"), "is only for test results"),
                    StoryLogType::Commit if l.commit_hash.as_deref().is_none_or(|h| h.trim().is_empty()) => {
                        errs.add(&format!("{p}.commit_hash"), "is required for a commit")
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Suffixes `base` until `taken` says no, keeping within `max` characters.
async fn unique_variant<F, Fut>(base: &str, max: usize, suffix: impl Fn(u32) -> String, taken: F) -> AppResult<String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = AppResult<bool>>,
{
    for n in 1..1000 {
        let s = suffix(n);
        let keep = max.saturating_sub(s.chars().count());
        let candidate = format!("{}{s}", base.chars().take(keep).collect::<String>());
        if !taken(candidate.clone()).await? {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict("could not find a free name for the imported product".into()))
}

async fn insert_chunks<A>(txn: &DatabaseTransaction, rows: Vec<A>) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

fn max_code(kind: CodeKind, codes: impl Iterator<Item = String>) -> Option<String> {
    codes.filter_map(|c| kind.number(&c)).max().map(|n| kind.format(n))
}

async fn write_import(
    db: &Db,
    owner: Actor,
    settings: Settings,
    e: BacklogExport,
) -> AppResult<(product::Model, [u64; 5])> {
    let txn = db.begin().await?;
    let res = write_import_in(&txn, owner, settings, e).await;
    match res {
        Ok(v) => {
            txn.commit().await?;
            Ok(v)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

async fn write_import_in(
    txn: &DatabaseTransaction,
    owner: Actor,
    settings: Settings,
    e: BacklogExport,
) -> AppResult<(product::Model, [u64; 5])> {
    let t = now();
    let p = settings
        .into_active(new_id(), &owner.user_id, t)
        .insert(txn)
        .await
        .map_err(|e| product_unique_error(e, "product."))?;
    let pid = p.id.clone();
    let mut counts = [0u64; 5];
    let mut sprint_ids = HashMap::new();
    let mut rows = Vec::new();
    for s in &e.sprints {
        let id = new_id();
        sprint_ids.insert(s.code.clone(), id.clone());
        rows.push(sprint::ActiveModel {
            id: Set(id),
            product_id: Set(pid.clone()),
            code: Set(s.code.clone()),
            sprint_goal: Set(s.sprint_goal.trim().to_string()),
            status: Set(s.status.as_db().into()),
            start_date: Set(s.start_date),
            end_date: Set(s.end_date),
            created_at: Set(s.created_at.unwrap_or(t)),
            updated_at: Set(t),
            completed_at: Set(s.completed_at),
        });
    }
    counts[0] = rows.len() as u64;
    insert_chunks(txn, rows).await?;
    let (mut pbis, mut stories, mut tasks, mut logs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in &e.pbis {
        let bid = new_id();
        pbis.push(pbi::ActiveModel {
            id: Set(bid.clone()),
            product_id: Set(pid.clone()),
            code: Set(b.code.clone()),
            title: Set(b.title.trim().to_string()),
            description: Set(b.description.clone()),
            priority: Set(b.priority),
            sort_order: Set(b.sort_order),
            status: Set(b.status.as_db().into()),
            pr_url: Set(b.pr_url.clone()),
            pr_merged_at: Set(b.pr_merged_at),
            epic_number: Set(b.epic_number),
            created_at: Set(b.created_at.unwrap_or(t)),
            updated_at: Set(t),
        });
        for s in &b.stories {
            let sid = new_id();
            let sprint_id = s.sprint_code.as_ref().and_then(|c| sprint_ids.get(c).cloned());
            stories.push(story::ActiveModel {
                id: Set(sid.clone()),
                pbi_id: Set(bid.clone()),
                product_id: Set(pid.clone()),
                sprint_id: Set(sprint_id.clone()),
                assignee_id: Set(s.assignee.as_ref().filter(|u| **u == owner.username).map(|_| owner.user_id.clone())),
                code: Set(s.code.clone()),
                title: Set(s.title.trim().to_string()),
                description: Set(s.description.clone()),
                acceptance_criteria: Set(s.acceptance_criteria.clone()),
                priority: Set(s.priority),
                sort_order: Set(s.sort_order),
                status: Set(s.status.as_db().into()),
                epic_number: Set(s.epic_number),
                story_number: Set(s.story_number.clone()),
                workflow_status: Set(None),
                assigned_dev_id: Set(None),
                assigned_qa_id: Set(None),
                dev_pr_url: Set(None),
                dev_pr_number: Set(None),
                dev_pr_author: Set(None),
                story_file: Set(None),
                validated_at: Set(None),
                validated_by: Set(None),
                validation_score: Set(None),
                qa_gate_path: Set(None),
                qa_gate_status: Set(None),
                qa_reviewed_at: Set(None),
                qa_review_count: Set(0),
                validation_decision: Set(None),
                qa_quality_score: Set(None),
                qa_notes: Set(None),
                can_start_in_parallel: Set(false),
                created_at: Set(s.created_at.unwrap_or(t)),
                updated_at: Set(t),
            });
            for k in &s.tasks {
                tasks.push(task::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(sid.clone()),
                    product_id: Set(pid.clone()),
                    sprint_id: Set(sprint_id.clone()),
                    code: Set(k.code.clone()),
                    title: Set(k.title.trim().to_string()),
                    description: Set(k.description.clone()),
                    implementation_plan: Set(k.implementation_plan.clone()),
                    priority: Set(k.priority),
                    sort_order: Set(k.sort_order),
                    status: Set(k.status.as_db().into()),
                    verify_only: Set(k.verify_only),
                    verify_required: Set(k.verify_required.as_db().into()),
                    requires_opus: Set(k.requires_opus),
                    repo_url: Set(k.repo_url.clone()),
                    created_at: Set(k.created_at.unwrap_or(t)),
                    updated_at: Set(t),
                });
            }
            for l in &s.logs {
                logs.push(story_log::ActiveModel {
                    id: Set(new_id()),
                    story_id: Set(sid.clone()),
                    r#type: Set(l.log_type.as_db().into()),
                    content: Set(l.content.clone()),
                    status: Set(l.status.map(|s| s.as_db().to_string())),
                    commit_hash: Set(l.commit_hash.clone()),
                    commit_message: Set(l.commit_message.clone()),
                    metadata: Set(l.metadata.clone()),
                    created_at: Set(l.created_at.unwrap_or(t)),
                });
            }
        }
    }
    counts[1] = pbis.len() as u64;
    counts[2] = stories.len() as u64;
    counts[3] = tasks.len() as u64;
    counts[4] = logs.len() as u64;
    insert_chunks(txn, pbis).await?;
    insert_chunks(txn, stories).await?;
    insert_chunks(txn, tasks).await?;
    insert_chunks(txn, logs).await?;
    let highest = [
        (CodeKind::Sprint, max_code(CodeKind::Sprint, e.sprints.iter().map(|s| s.code.clone()))),
        (CodeKind::Pbi, max_code(CodeKind::Pbi, e.pbis.iter().map(|b| b.code.clone()))),
        (
            CodeKind::Story,
            max_code(CodeKind::Story, e.pbis.iter().flat_map(|b| b.stories.iter().map(|s| s.code.clone()))),
        ),
        (
            CodeKind::Task,
            max_code(
                CodeKind::Task,
                e.pbis.iter().flat_map(|b| b.stories.iter().flat_map(|s| s.tasks.iter().map(|t| t.code.clone()))),
            ),
        ),
    ];
    for (kind, code) in highest {
        if let Some(code) = code {
            note_code(txn, &pid, kind, &code).await?;
        }
    }
    let p = product::Entity::find_by_id(pid).one(txn).await?.ok_or(AppError::NotFound("product"))?;
    Ok((p, counts))
}

/// Who may import: any user who may write, through the API (a CLI actor
/// has no user to own the new product).
pub(super) fn may_import(actor: &Actor) -> AppResult<()> {
    actor.require_write()?;
    if matches!(actor.via, AuthVia::Cli) {
        return Err(AppError::Forbidden("products are imported by a user (use the API)".into()));
    }
    Ok(())
}

impl App {
    /// Imports an export as a new product owned by the caller (see the
    /// module notes for the rules).
    pub async fn import_product(&self, actor: &Actor, e: BacklogExport) -> AppResult<ImportResult> {
        may_import(actor)?;
        let mut errs = ValidationErrors::new();
        validate(&e, &mut errs);
        let ep = e.product.clone();
        let mut settings = Settings::from_input(
            NewProduct {
                name: ep.name,
                code: ep.code,
                description: ep.description,
                repo_url: ep.repo_url,
                definition_of_done: ep.definition_of_done,
                auto_pr: Some(ep.auto_pr),
                pr_strategy: Some(ep.pr_strategy),
                preferred_model: ep.preferred_model,
                thinking_budget_default: ep.thinking_budget_default,
                preferred_permission_mode: ep.preferred_permission_mode,
                auto_pr_review: Some(ep.auto_pr_review),
                auto_task_review: Some(ep.auto_task_review),
                auto_plan_review: Some(ep.auto_plan_review),
                auto_materialize_plan: Some(ep.auto_materialize_plan),
                auto_deploy: Some(ep.auto_deploy),
                // Not part of the export: a quota floor is about the
                // importing team's workers, not the backlog.
                min_quota_pct: None,
            },
            "product.",
            &mut errs,
        );
        errs.into_result()?;
        let mut warnings = Vec::new();
        let db = &self.db;
        let uid = actor.user_id.clone();
        let (name_taken, _) = owner_clashes(db, &uid, None, Some(&settings.name), None).await?;
        if name_taken {
            let base = settings.name.clone();
            let name = unique_variant(
                &base,
                MAX_NAME,
                |n| if n == 1 { " (imported)".into() } else { format!(" (imported {n})") },
                |c| {
                    let uid = uid.clone();
                    async move { Ok(owner_clashes(db, &uid, None, Some(&c), None).await?.0) }
                },
            )
            .await?;
            warnings.push(format!("product.name: you already have a product named `{base}`; imported as `{name}`"));
            settings.name = name;
        }
        if let Some(code) = settings.code.clone()
            && owner_clashes(db, &uid, None, None, Some(&code)).await?.1
        {
            let new_code = unique_variant(
                &code,
                MAX_CODE,
                |n| format!("-{}", n + 1),
                |c| {
                    let uid = uid.clone();
                    async move { Ok(owner_clashes(db, &uid, None, None, Some(&c)).await?.1) }
                },
            )
            .await?;
            warnings.push(format!("product.code: you already use the code `{code}`; imported as `{new_code}`"));
            settings.code = Some(new_code);
        }
        for (i, b) in e.pbis.iter().enumerate() {
            for (j, s) in b.stories.iter().enumerate() {
                if let Some(a) = &s.assignee
                    && *a != actor.username
                {
                    warnings.push(format!(
                        "pbis.{i}.stories.{j}.assignee: `{a}` is not a member of the new product; left unassigned"
                    ));
                }
            }
        }
        let (p, [sprints, pbis, stories, tasks, logs]) = write_import(&self.db, actor.clone(), settings, e).await?;
        self.publish_product_event(&p.id, "imported").await;
        let product = product_view(p, ProductAccess::Own)?;
        Ok(ImportResult { product, sprints, pbis, stories, tasks, logs, warnings })
    }
}
