//! Fuzzing the filter pattern parser: no input panics it, and every error points inside the
//! pattern with a caret.

use proptest::prelude::*;
use trailaudit::filter::Pattern;

fn check(text: &str) {
    match Pattern::parse(text) {
        Ok(p) => {
            // Whatever parses also evaluates without panicking.
            let record = serde_json::json!({"eventName": "X", "a": [1, {"b": null}], "n": 4});
            let _ = p.matches(&record);
        }
        Err(e) => {
            let len = text.chars().count();
            assert!(
                e.column >= 1 && e.column <= len.max(1) + 1,
                "column {} of {len}: {text:?}",
                e.column
            );
            let rendered = e.to_string();
            assert!(
                rendered.contains(&format!("at column {}", e.column)),
                "{rendered}"
            );
            let caret_line = rendered.lines().last().unwrap();
            assert_eq!(caret_line.trim_start().chars().next(), Some('^'));
            assert_eq!(caret_line.chars().count(), 2 + e.column, "{rendered}");
        }
    }
}

fn token() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "{", "}", "(", ")", "$", "$.", "$.a", "$.a.b", "[0]", "[*]", ".*", ".['x.y']", "[", "]",
        "=", "!=", "<", ">=", "==", "&&", "||", "&", "|", "IS", "NULL", "TRUE", "NOT", "EXISTS",
        "\"s\"", "\"", "\\", "*", "a*b", "123", "-1e3", "1e", "%a.b%", "%", "%(x)%", "'", " ", "é",
        "\u{0}", "\n", "?x", "-y",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in "\\PC{0,80}") {
        check(&text);
    }

    #[test]
    fn grammar_shaped_text(tokens in prop::collection::vec(token(), 0..24)) {
        check(&tokens.concat());
        check(&tokens.join(" "));
    }
}

#[test]
fn long_and_deep_inputs() {
    check(&"(".repeat(500));
    check(&format!(
        "{{ {}$.a = 1{} }}",
        "(".repeat(300),
        ")".repeat(300)
    ));
    check(&"x".repeat(5000));
    check(&format!("{{ $.a = \"{}\" }}", "é".repeat(1100)));
}
