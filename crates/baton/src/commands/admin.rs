//! `baton user …`, `baton token …` and `baton demo`: administration from the
//! command line, through the same services as the web and API. Output meant
//! for scripts goes to stdout; messages go to stderr.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use baton_app::{
    Actor, App, AppConfig,
    accounts::{NewUser, UserView},
    tokens::NewToken,
};
use baton_domain::roles::Role;

use crate::cli::{DbArgs, TokenCommand, UserCommand};

async fn app(db: &DbArgs) -> anyhow::Result<App> {
    Ok(App::local(crate::config::open(db).await?, AppConfig::default()))
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    Role::parse_api(s).with_context(|| format!("unknown role `{s}`; expected one of: {}", Role::api_values()))
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to prompt for a password: pass --password-stdin and pipe it in");
    }
    let p1 = rpassword::prompt_password("Password: ").context("cannot read the password")?;
    let p2 = rpassword::prompt_password("Repeat password: ").context("cannot read the password")?;
    if p1 != p2 {
        bail!("the passwords do not match");
    }
    Ok(p1)
}

fn service_error(e: baton_app::AppError) -> anyhow::Error {
    match e {
        baton_app::AppError::Validation(v) => anyhow::anyhow!("invalid input: {}", v.summary()),
        other => anyhow::anyhow!("{other}"),
    }
}

fn print_user_line(u: &UserView) {
    let roles: Vec<String> = u.roles.iter().map(|r| r.as_api()).collect();
    println!(
        "{}\t{}\t{}\t{}{}{}",
        u.id,
        u.username,
        u.email.as_deref().unwrap_or("-"),
        if roles.is_empty() { "-".to_string() } else { roles.join(",") },
        if u.is_demo { "\tdemo" } else { "" },
        if u.disabled { "\tdisabled" } else { "" },
    );
}

/// `baton user …`
pub async fn user(db: &DbArgs, cmd: UserCommand) -> anyhow::Result<()> {
    let app = app(db).await?;
    let cli = Actor::cli();
    match cmd {
        UserCommand::Create { username, email, admin, roles, demo, password_stdin, must_reset } => {
            let mut roles = roles.iter().map(|r| parse_role(r)).collect::<anyhow::Result<Vec<_>>>()?;
            if admin {
                roles.push(Role::Admin);
            }
            let password = read_password(password_stdin)?;
            let u = app
                .create_user(
                    &cli,
                    NewUser {
                        username,
                        password,
                        email,
                        name: None,
                        roles,
                        is_demo: demo,
                        must_reset_password: must_reset,
                    },
                )
                .await
                .map_err(service_error)?;
            eprintln!("created user {}", u.username);
            println!("{}", u.id);
        }
        UserCommand::List { json } => {
            let users = app.list_users(&cli).await.map_err(service_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                users.iter().for_each(print_user_line);
            }
        }
        UserCommand::Passwd { username, password_stdin, must_reset } => {
            let password = read_password(password_stdin)?;
            app.set_password(&cli, &username, &password, must_reset).await.map_err(service_error)?;
            eprintln!("password of {username} changed; their sessions were ended");
        }
        UserCommand::Grant { username, role } => {
            let u = app.grant_role(&cli, &username, parse_role(&role)?).await.map_err(service_error)?;
            print_user_line(&u);
        }
        UserCommand::Revoke { username, role } => {
            let u = app.revoke_role(&cli, &username, parse_role(&role)?).await.map_err(service_error)?;
            print_user_line(&u);
        }
    }
    Ok(())
}

async fn user_id(app: &App, username: &str) -> anyhow::Result<String> {
    Ok(app
        .find_user_by_username(username)
        .await
        .map_err(service_error)?
        .with_context(|| format!("no user `{username}`"))?
        .id)
}

/// `baton token …`
pub async fn token(db: &DbArgs, cmd: TokenCommand) -> anyhow::Result<()> {
    let app = app(db).await?;
    let cli = Actor::cli();
    match cmd {
        TokenCommand::Create { user, label, products, expires_in_days } => {
            let uid = user_id(&app, &user).await?;
            let t = app
                .create_token(&cli, &uid, NewToken { label, product_ids: products, expires_in_days })
                .await
                .map_err(service_error)?;
            eprintln!("created token {} for {user}; it is shown only now", t.info.id);
            println!("{}", t.token);
        }
        TokenCommand::List { user, json } => {
            let uid = user_id(&app, &user).await?;
            let tokens = app.list_tokens(&cli, &uid).await.map_err(service_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                for t in tokens {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.active {
                        "active"
                    } else {
                        "expired"
                    };
                    println!("{}\t{}…\t{}\t{}", t.id, t.prefix, state, t.label.unwrap_or_default());
                }
            }
        }
        TokenCommand::Revoke { id } => {
            app.revoke_token(&cli, &id).await.map_err(service_error)?;
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}

/// `baton demo`
pub async fn demo(db: &DbArgs) -> anyhow::Result<()> {
    let app = app(db).await?;
    let outcome = app.seed_demo().await.map_err(service_error)?;
    eprintln!("{outcome}");
    eprintln!("log in as demo / {} (read-only)", baton_app::demo::DEMO_PASSWORD);
    Ok(())
}
