//! Pull request links of PBIs (reference §3.3 `set_pbi_pr`): which URLs are
//! accepted, and the host of a repository URL (the product's repository
//! host is always allowed).
//!
//! A link must be the pull request's own page on an allowed host:
//! - GitHub: `https://host/owner/repo/pull/N`
//! - Forgejo / Gitea: `https://host/owner/repo/pulls/N`
//! - GitLab: `https://host/group[/subgroup…]/repo/-/merge_requests/N`
//!
//! `http` is accepted for self-hosted forges on a private network. User
//! information (`https://github.com@evil.example/…`), query strings and
//! fragments are refused so the stored link is the plain PR address and
//! the host the check saw is the host a browser opens. Hosts compare
//! case-insensitively and without their port.

/// Longest accepted pull request URL.
pub const MAX_PR_URL: usize = 500;

/// Pull request hosts allowed when nothing is configured.
pub const DEFAULT_PR_HOSTS: &[&str] = &["github.com", "gitlab.com", "codeberg.org"];

/// The forge flavour a pull request URL has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// `/owner/repo/pull/N`.
    GitHub,
    /// `/owner/repo/pulls/N` (Forgejo, Gitea).
    Forgejo,
    /// `/group/repo/-/merge_requests/N`.
    GitLab,
}

/// A checked pull request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestUrl {
    /// The URL as it will be stored (trimmed, without a trailing slash).
    pub url: String,
    /// The host, lowercase, without port.
    pub host: String,
    /// Which path shape it has.
    pub forge: Forge,
    /// The repository path (`owner/repo`, or `group/sub/repo`).
    pub repo: String,
    /// The pull request number.
    pub number: u64,
}

/// The lowercase host (without user or port) of a repository URL:
/// `https://host/…`, `ssh://git@host:22/…`, `git://host/…` or scp-style
/// `git@host:owner/repo.git`. `None` when there is none to read.
pub fn repo_host(repo_url: &str) -> Option<String> {
    let s = repo_url.trim();
    let authority = match s.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next()?,
        // scp-style: user@host:path (the part before the colon).
        None => s.split_once(':')?.0,
    };
    let host = authority.rsplit('@').next()?;
    let host = strip_port(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Checks a pull request URL against the allowed hosts (compared
/// case-insensitively, ports ignored). The error is a message for the
/// `pr_url` field.
pub fn check_pr_url(raw: &str, allowed_hosts: &[String]) -> Result<PullRequestUrl, String> {
    let url = raw.trim();
    if url.is_empty() {
        return Err("must not be empty".into());
    }
    if url.chars().count() > MAX_PR_URL {
        return Err(format!("must be at most {MAX_PR_URL} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("must be an http(s) URL of a pull request".into());
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err("must be an http(s) URL of a pull request".into());
    }
    if rest.contains(['?', '#']) {
        return Err("must be the pull request's own URL, without a query or fragment".into());
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err("must not contain user information before the host".into());
    }
    let host = strip_port(authority).to_ascii_lowercase();
    if host.is_empty() || host.starts_with('.') || host.contains(':') {
        return Err("must name a host".into());
    }
    if !allowed_hosts.iter().any(|h| strip_port(h.trim()).eq_ignore_ascii_case(&host)) {
        let mut list: Vec<String> = allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        list.sort();
        list.dedup();
        return Err(format!(
            "host `{host}` is not allowed for pull requests (allowed: the product's repository host and {})",
            list.join(", ")
        ));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    if segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(shape_error());
    }
    let number = |s: &str| s.parse::<u64>().ok().filter(|n| *n > 0 && !s.starts_with('0'));
    let (forge, repo, n) = match segs.as_slice() {
        [owner, repo, "pull", n] => (Forge::GitHub, format!("{owner}/{repo}"), number(n)),
        [owner, repo, "pulls", n] => (Forge::Forgejo, format!("{owner}/{repo}"), number(n)),
        [group @ .., "-", "merge_requests", n] if group.len() >= 2 && !group.contains(&"-") => {
            (Forge::GitLab, group.join("/"), number(n))
        }
        _ => return Err(shape_error()),
    };
    let Some(number) = n else {
        return Err("must end with the pull request number (a positive integer)".into());
    };
    let stored = format!("{}://{}/{}", scheme.to_ascii_lowercase(), authority, path);
    Ok(PullRequestUrl { url: stored, host, forge, repo, number })
}

fn shape_error() -> String {
    "must be a pull request URL: https://host/owner/repo/pull/N (GitHub), …/owner/repo/pulls/N \
     (Forgejo, Gitea) or …/group/repo/-/merge_requests/N (GitLab)"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        let mut h: Vec<String> = DEFAULT_PR_HOSTS.iter().map(|s| s.to_string()).collect();
        h.push("git.example.com".into());
        h
    }

    #[test]
    fn accepted_urls_by_forge() {
        let cases: &[(&str, Forge, &str, u64, &str)] = &[
            (
                "https://github.com/acme/rocket/pull/12",
                Forge::GitHub,
                "acme/rocket",
                12,
                "https://github.com/acme/rocket/pull/12",
            ),
            (
                "  https://GitHub.com/acme/rocket/pull/12/ ",
                Forge::GitHub,
                "acme/rocket",
                12,
                "https://GitHub.com/acme/rocket/pull/12",
            ),
            (
                "https://codeberg.org/acme/rocket/pulls/3",
                Forge::Forgejo,
                "acme/rocket",
                3,
                "https://codeberg.org/acme/rocket/pulls/3",
            ),
            (
                "http://git.example.com:3000/team/app/pulls/77",
                Forge::Forgejo,
                "team/app",
                77,
                "http://git.example.com:3000/team/app/pulls/77",
            ),
            (
                "HTTPS://gitlab.com/group/sub/app/-/merge_requests/5",
                Forge::GitLab,
                "group/sub/app",
                5,
                "https://gitlab.com/group/sub/app/-/merge_requests/5",
            ),
            (
                "https://gitlab.com/group/app/-/merge_requests/1",
                Forge::GitLab,
                "group/app",
                1,
                "https://gitlab.com/group/app/-/merge_requests/1",
            ),
        ];
        for (url, forge, repo, n, stored) in cases {
            let pr = check_pr_url(url, &hosts()).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((pr.forge, pr.repo.as_str(), pr.number, pr.url.as_str()), (*forge, *repo, *n, *stored), "{url}");
        }
    }

    #[test]
    fn refused_urls_say_why() {
        let cases: &[(&str, &str)] = &[
            ("", "must not be empty"),
            ("github.com/acme/rocket/pull/1", "http(s) URL"),
            ("ftp://github.com/acme/rocket/pull/1", "http(s) URL"),
            ("javascript://github.com/acme/rocket/pull/1", "http(s) URL"),
            ("https://evil.example/acme/rocket/pull/1", "host `evil.example` is not allowed"),
            ("https://github.com.evil.example/acme/rocket/pull/1", "is not allowed"),
            ("https://github.com@evil.example/acme/rocket/pull/1", "user information"),
            ("https://github.com/acme/rocket/pull/1?x=1", "without a query"),
            ("https://github.com/acme/rocket/pull/1#top", "without a query"),
            ("https://github.com/acme/rocket/pull/1/files", "must be a pull request URL"),
            ("https://github.com/acme/rocket/issues/1", "must be a pull request URL"),
            ("https://github.com/acme/pull/1", "must be a pull request URL"),
            ("https://github.com/acme//rocket/pull/1", "must be a pull request URL"),
            ("https://github.com/acme/../pull/1", "must be a pull request URL"),
            ("https://github.com/acme/rocket/pull/0", "positive integer"),
            ("https://github.com/acme/rocket/pull/01", "positive integer"),
            ("https://github.com/acme/rocket/pull/abc", "positive integer"),
            ("https://gitlab.com/app/-/merge_requests/1", "must be a pull request URL"),
            ("https://github.com/acme/rocket/pull/1 2", "spaces"),
            ("https:///acme/rocket/pull/1", "must name a host"),
        ];
        for (url, expected) in cases {
            let e = check_pr_url(url, &hosts()).expect_err(url);
            assert!(e.contains(expected), "{url}: {e}");
        }
        let long = format!("https://github.com/acme/rocket/pull/{}", "1".repeat(MAX_PR_URL));
        assert!(check_pr_url(&long, &hosts()).expect_err("long").contains("at most"));
    }

    #[test]
    fn only_listed_hosts_pass_and_ports_are_ignored() {
        let only = vec!["git.example.com:3000".to_string()];
        assert!(check_pr_url("https://git.example.com/a/b/pulls/1", &only).is_ok());
        assert!(check_pr_url("https://git.example.com:8443/a/b/pulls/1", &only).is_ok());
        assert!(check_pr_url("https://github.com/a/b/pull/1", &only).is_err());
        assert!(check_pr_url("https://github.com/a/b/pull/1", &[]).is_err());
    }

    #[test]
    fn repository_hosts() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://github.com/acme/rocket", Some("github.com")),
            ("https://Git.Example.com:3000/team/app.git", Some("git.example.com")),
            ("ssh://git@git.example.com:2222/team/app.git", Some("git.example.com")),
            ("git://codeberg.org/acme/rocket", Some("codeberg.org")),
            ("git@github.com:acme/rocket.git", Some("github.com")),
            ("https://user:secret@gitlab.com/g/r", Some("gitlab.com")),
            ("not a url", None),
            ("", None),
        ];
        for (url, host) in cases {
            assert_eq!(repo_host(url).as_deref(), *host, "{url}");
        }
    }
}
