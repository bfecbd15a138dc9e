//! Lessons that survive the run: the lessons a completion added or updated in the state are
//! proposed to the default branch as a pull request (`factory lessons publish`), so a person
//! reviews what will steer every later planner and reviewer prompt before it does. Jobs read
//! lessons only from the checkout of the trusted base, so once the pull request is merged the
//! next run has them, and nothing an earlier job's state carries can plant one.
//!
//! The commit is made with git plumbing on a temporary index (read the base's tree, add the
//! lesson files, write the tree, commit it on the base): the checkout, its index and its
//! branch are left as they were.

use std::path::{Path, PathBuf};

use super::git::{self, Git};
use super::{Forge, ForgeError, NewPullRequest, State};
use crate::lessons::Lesson;
use crate::state::StateDir;

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The state's lessons are the base's: nothing to propose.
    NothingNew,
    /// The branch was written and its pull request opened (`created`) or updated.
    PullRequest {
        number: u64,
        branch: String,
        files: Vec<String>,
        created: bool,
    },
}

/// The branch the lessons of session `sid` are proposed on.
pub fn branch_name(sid: &str) -> String {
    let clean: String = sid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("factory/lessons-{clean}")
}

/// Propose the lesson files of `state` that the default branch lacks or has otherwise as a
/// pull request from [`branch_name`] into the default branch.
pub fn publish(state: &StateDir, forge: &dyn Forge, sid: &str) -> Result<Published, ForgeError> {
    let repo = state.repo();
    let git = Git::new(&repo);
    let base = forge.default_branch()?;
    let base_ref = git
        .first_ref(&[
            format!("refs/remotes/origin/{base}"),
            format!("refs/heads/{base}"),
        ])?
        .ok_or_else(|| ForgeError::NoBranch(base.clone()))?;
    let base_commit = git.rev(&base_ref)?;
    let rel_dir = relative_dir(&repo, &state.lessons_dir());
    let changed = changed_lessons(&git, &state.lessons_dir(), &rel_dir, &base_commit)?;
    if changed.is_empty() {
        return Ok(Published::NothingNew);
    }
    let branch = branch_name(sid);
    let commit = commit_files(&git, &base_commit, &changed, sid)?;
    git.run(&["update-ref", &format!("refs/heads/{branch}"), &commit])?;
    if forge.name() == "github" {
        let token = git::forge_token().ok_or_else(|| {
            ForgeError::Unsupported(
                "pushing the lessons branch needs GITHUB_TOKEN (or GH_TOKEN) with contents: write"
                    .into(),
            )
        })?;
        git.run_env(
            &[
                "push",
                "--quiet",
                "--force",
                "origin",
                &format!("refs/heads/{branch}:refs/heads/{branch}"),
            ],
            &git::auth_env(&token),
        )?;
    }
    let files: Vec<String> = changed.iter().map(|c| c.rel.clone()).collect();
    let lessons: Vec<Lesson> = changed.into_iter().filter_map(|c| c.lesson).collect();
    let title = format!(
        "factory: {} lesson(s) learned in session {sid}",
        lessons.len().max(files.len())
    );
    let body = body(sid, &lessons, &files);
    let open = forge
        .list_pull_requests()?
        .into_iter()
        .find(|p| p.head == branch && p.state == State::Open);
    let (number, created) = match open {
        Some(p) => {
            forge.update_pull_request(p.number, &title, &body)?;
            (p.number, false)
        }
        None => {
            let p = forge.create_pull_request(&NewPullRequest {
                title,
                body,
                head: branch.clone(),
                base,
            })?;
            (p.number, true)
        }
    };
    let detail = format!(
        "{} lesson file(s) proposed in pull request #{number} ({branch})",
        files.len()
    );
    let refs = serde_json::json!({"pr": number, "branch": branch, "files": files}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Completion.as_str(), action = crate::state::log::vocab::LESSONS_PUBLISH, tool = forge.name(), status = "ok", detail, refs);
    Ok(Published::PullRequest {
        number,
        branch,
        files,
        created,
    })
}

/// `dir` relative to the repository, with `/` separators.
fn relative_dir(repo: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(repo).unwrap_or(dir);
    rel.to_string_lossy().replace('\\', "/")
}

/// A lesson file the default branch lacks or has otherwise.
struct Changed {
    /// Its path in the repository.
    rel: String,
    /// Its path on disk.
    path: PathBuf,
    /// The lesson, read with the store's own checks; none when the file is not a valid one.
    lesson: Option<Lesson>,
}

/// The lesson files of `dir` whose bytes differ from the base's (or that the base lacks), in
/// name order, each read once.
fn changed_lessons(
    git: &Git,
    dir: &Path,
    rel_dir: &str,
    base_commit: &str,
) -> Result<Vec<Changed>, ForgeError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("lesson-") && n.ends_with(".json"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let rel = format!("{rel_dir}/{name}");
        let ours = std::fs::read(&path).map_err(|e| ForgeError::io("read", &path, e))?;
        let theirs = git.run_raw(&["cat-file", "blob", &format!("{base_commit}:{rel}")]);
        if theirs.ok().is_some_and(|t| t.as_bytes() == ours.as_slice()) {
            continue;
        }
        let lesson = crate::lessons::store::parse(&path, &String::from_utf8_lossy(&ours)).ok();
        out.push(Changed { rel, path, lesson });
    }
    Ok(out)
}

/// A commit on `base_commit` that writes `files`, made on a temporary index.
fn commit_files(
    git: &Git,
    base_commit: &str,
    files: &[Changed],
    sid: &str,
) -> Result<String, ForgeError> {
    let index = TempIndex(std::env::temp_dir().join(format!(
        "factory-lessons-{}-{}.index",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    )));
    let mut env = git.identity_env();
    env.push((
        "GIT_INDEX_FILE".into(),
        index.0.to_string_lossy().into_owned(),
    ));
    git.run_env(&["read-tree", base_commit], &env)?;
    for Changed { rel, path, .. } in files {
        let shown = path.to_string_lossy().into_owned();
        let blob = git.run(&["hash-object", "-w", "--", &shown])?;
        git.run_env(
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("100644,{blob},{rel}"),
            ],
            &env,
        )?;
    }
    let tree = git.run_env(&["write-tree"], &env)?;
    let message = format!(
        "factory: lessons learned in session {sid}\n\nLessons are data for the planner and reviewer prompts of later sessions; see docs/lessons.md.\n"
    );
    git.run_env(
        &["commit-tree", &tree, "-p", base_commit, "-m", &message],
        &env,
    )
}

/// A temporary index file, removed when dropped.
struct TempIndex(PathBuf);

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The pull request's body: what each lesson says, as data for the person who reviews it.
fn body(sid: &str, lessons: &[Lesson], files: &[String]) -> String {
    let mut out = format!(
        "Lessons from session `{sid}`, proposed by `factory lessons publish`. Once merged, the planner and reviewer prompts of later sessions get them where they are relevant ([docs/lessons.md](docs/lessons.md)). Edit or drop any that is wrong before merging.\n\n"
    );
    for l in lessons {
        out.push_str(&format!(
            "- **{}** (seen {}×, {}): {}\n  - rule: {}\n",
            l.id,
            l.times_seen,
            l.tags.join(", "),
            crate::forge::issues::line(&l.pattern),
            crate::forge::issues::line(&l.preventive_rule)
        ));
    }
    out.push_str("\nFiles:\n");
    for f in files {
        out.push_str(&format!("- `{f}`\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_is_named_after_the_session() {
        assert_eq!(
            branch_name("20261207T034740Z-924e71"),
            "factory/lessons-20261207T034740Z-924e71"
        );
        assert_eq!(branch_name("a b/../c"), "factory/lessons-a-b----c");
    }
}
