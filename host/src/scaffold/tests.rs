use super::*;

#[test]
fn names() {
    for good in ["my-pricing", "b2b-lifecycle", "x", "rules2"] {
        assert!(check_name(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "My-pricing",
        "my_pricing",
        "-x",
        "x-",
        "x--y",
        "2x",
        "my pricing",
        "../x",
        "self",
        "test",
        "orderflow",
    ] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn kinds() {
    assert_eq!(kind("pricing"), Ok(PluginKind::Pricing));
    assert!(
        kind("shipping")
            .unwrap_err()
            .contains("validation, pricing, lifecycle")
    );
}

/// Every template file is used, and every placeholder of each is given a value, in every
/// language, for every kind, from every start the language has, in the workspace and out
/// of it.
#[test]
fn templates_are_complete() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut on_disk = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap().flatten() {
            // Python leaves its bytecode beside the templates it ran (git ignores it).
            if entry.file_name() == "__pycache__" {
                continue;
            }
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                on_disk.push(std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    let mut used: Vec<String> = Vec::new();
    for &lang in <Lang as clap::ValueEnum>::value_variants() {
        for kind in PluginKind::ALL {
            let starts = [Start::Template, Start::Standard]
                .into_iter()
                .filter(|&start| start == Start::Template || standard::written_in(kind, lang));
            for (start, in_workspace) in starts.flat_map(|s| [(s, false), (s, true)]) {
                let place = Place {
                    repo: "/r".into(),
                    dir: if in_workspace { "/r/plugins/x" } else { "/x" }.into(),
                    in_workspace,
                    orderflow: "/r/target/release/orderflow".into(),
                };
                let project = project(lang, kind, "x", &place, start).unwrap();
                let values = project.values("x", kind);
                for (path, text) in &project.files {
                    let rendered = render(text, &values);
                    assert!(
                        !rendered.contains("{{"),
                        "{lang:?} {kind} {start:?} {path}: {rendered}"
                    );
                    used.push(text.to_string());
                }
            }
        }
    }
    for text in &on_disk {
        assert!(used.contains(text), "unused template:\n{text}");
    }
}

/// A port's tests find the rule's data with one expression, which the project's have
/// pointing at the project's root.
#[test]
fn a_ports_tests_find_the_rules_data_in_the_project() {
    for port in PluginKind::ALL
        .into_iter()
        .flat_map(|kind| [js::port(kind), python::port(kind)])
        .flatten()
    {
        let (here, there) = port.rule;
        let found: usize = (port.files.iter())
            .map(|(_, text)| text.matches(here).count())
            .sum();
        assert_eq!(found, 1, "{here}");
        let files = port.files();
        assert!(files.iter().all(|(_, text)| !text.contains(here)));
        assert!(files.iter().any(|(_, text)| text.contains(there)));
    }
}

#[test]
fn a_command_is_written_as_a_shell_reads_it() {
    let exe = "/home/me/orderflow/target/release/orderflow";
    assert_eq!(shell_word(exe), exe);
    assert_eq!(
        shell_word("/home/me/my rules/it's/orderflow"),
        r"'/home/me/my rules/it'\''s/orderflow'"
    );
    assert_eq!(shell_word(""), "''");
}
