//! Secrets from files: every environment variable the loader reads (`<NAME>_WEBHOOK_SECRET`,
//! `<NAME>_FORWARD_SECRET`, `HOOKBOX_DATABASE_URL`, …) may instead be given as `<VAR>_FILE`, the
//! path of a file holding its value (a Docker or Kubernetes secret), surrounding whitespace
//! dropped. Setting both, or naming a file that cannot be read, is an error naming the variable.

use std::cell::RefCell;

/// An environment lookup that also reads `<VAR>_FILE`, remembering the first problem.
pub(super) struct FileEnv<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    problem: RefCell<Option<(String, String)>>,
}

impl<'a> FileEnv<'a> {
    /// Lookups through `env`.
    pub(super) fn new(env: &'a dyn Fn(&str) -> Option<String>) -> FileEnv<'a> {
        FileEnv {
            env,
            problem: RefCell::new(None),
        }
    }

    /// The value of `var`, from the variable itself or from the file `<var>_FILE` names.
    pub(super) fn get(&self, var: &str) -> Option<String> {
        let file_var = format!("{var}_FILE");
        match ((self.env)(var), (self.env)(&file_var)) {
            (value, None) => value,
            (Some(_), Some(_)) => self.fail(var, format!("set {var} or {file_var}, not both")),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(text) => Some(text.trim().to_owned()),
                Err(e) => self.fail(&file_var, format!("cannot read {path}: {e}")),
            },
        }
    }

    fn fail(&self, var: &str, reason: String) -> Option<String> {
        let mut problem = self.problem.borrow_mut();
        problem.get_or_insert_with(|| (var.to_owned(), reason));
        None
    }

    /// The first problem met: `(variable, what is wrong)`.
    pub(super) fn take_problem(&self) -> Option<(String, String)> {
        self.problem.borrow_mut().take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_or_its_file_but_not_both() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "whsec_from_file\n").expect("write");
        let path = path.display().to_string();
        let vars = [
            ("A", "direct"),
            ("B_FILE", path.as_str()),
            ("C", "x"),
            ("C_FILE", path.as_str()),
            ("D_FILE", "/nonexistent/hookbox-secret"),
        ];
        let env = |name: &str| {
            (vars.iter())
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let files = FileEnv::new(&env);
        assert_eq!(files.get("A").as_deref(), Some("direct"));
        assert_eq!(files.get("B").as_deref(), Some("whsec_from_file"));
        assert_eq!(files.get("E"), None);
        assert!(files.take_problem().is_none());
        assert_eq!(files.get("C"), None);
        let (var, reason) = files.take_problem().expect("both set");
        assert_eq!(var, "C");
        assert!(reason.contains("not both"), "{reason}");
        assert_eq!(files.get("D"), None);
        let (var, reason) = files.take_problem().expect("unreadable");
        assert_eq!(var, "D_FILE");
        assert!(reason.contains("/nonexistent/hookbox-secret"), "{reason}");
    }
}
