//! No input may panic the front end: parse, dump, type, plan and render, plus shell expansion.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use stagecraft::frontend::{self, PlanOptions, render, shell, syntax};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(ast) = syntax::parse(text) {
        for p in &ast.instructions {
            let _ = p.node.dump();
        }
    }
    if let Ok(df) = frontend::parse_dockerfile(text, Path::new("Dockerfile")) {
        let opts = PlanOptions { target: Some("final".into()), ..PlanOptions::default() };
        for o in [PlanOptions::default(), opts] {
            if let Ok(plan) = frontend::plan(&df, &o) {
                let _ = render::text(&plan);
                let _ = render::dot(&plan);
            }
        }
    }
    let vars: BTreeMap<String, String> = [("V".to_string(), "a*b?c d".to_string())].into();
    let _ = shell::expand(text, &vars);
    let _ = shell::expand_words(text, &vars);
});
