//! The front end's engine-facing API: typed instructions, ARG scoping, expansion.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use stagecraft::frontend::instruction::*;
use stagecraft::frontend::plan::DepSource;
use stagecraft::frontend::{self, ErrorKind, PlanOptions, shell};

fn parse(src: &str) -> frontend::Dockerfile {
    frontend::parse_dockerfile(src, Path::new("Dockerfile")).unwrap_or_else(|e| panic!("{e}"))
}

fn ops(src: &str) -> Vec<Op> {
    parse(src).instructions.into_iter().map(|i| i.op).collect()
}

fn error(src: &str) -> frontend::FrontendError {
    match frontend::parse_dockerfile(src, Path::new("Dockerfile")) {
        Ok(_) => panic!("accepted: {src}"),
        Err(e) => e,
    }
}

#[test]
fn run_flags_and_heredocs_are_typed() {
    let src = "FROM busybox\nRUN --mount=type=cache,target=/c,id=x --mount=type=secret,id=tok --network=none \\\n    --security=insecure <<EOF python3 <<-'PY'\necho hi $HOME\nEOF\n\tprint(1)\n\tPY\n";
    let ops = ops(src);
    let Op::Run(run) = &ops[1] else {
        panic!("{:?}", ops[1])
    };
    assert_eq!(run.mounts.len(), 2);
    assert_eq!(
        (run.mounts[0].kind, run.mounts[0].id.as_deref()),
        (MountType::Cache, Some("x"))
    );
    assert_eq!(run.mounts[1].target.as_deref(), Some("/run/secrets/tok"));
    assert_eq!(run.network, Some(Network::None));
    assert_eq!(run.security, Some(Security::Insecure));
    assert_eq!(run.command, Command::Shell("<<EOF python3 <<-'PY'".into()));
    assert_eq!(run.heredocs.len(), 2);
    assert_eq!(
        (run.heredocs[0].content.as_str(), run.heredocs[0].expand),
        ("echo hi $HOME\n", true)
    );
    assert_eq!(
        (run.heredocs[1].content.as_str(), run.heredocs[1].expand),
        ("print(1)\n", false)
    );
}

#[test]
fn copy_and_add_flags() {
    let ops = ops(
        "FROM busybox\nCOPY --from=build --chown=1:2 --chmod=755 --link --parents --exclude=*.md --exclude=x [\"a b\", \"/c/\"]\nADD --checksum=sha256:abc --keep-git-dir --unpack=false https://x/y.tar /z\nCOPY <<A <<B /dst/\na\nA\nb\nB\n",
    );
    let Op::Copy(c) = &ops[1] else { panic!() };
    assert_eq!(c.sources, [Source::Path("a b".into())]);
    assert_eq!(c.dest, "/c/");
    assert_eq!(
        (c.from.as_deref(), c.chown.as_deref(), c.chmod.as_deref()),
        (Some("build"), Some("1:2"), Some("755"))
    );
    assert!(c.link && c.parents);
    assert_eq!(c.exclude, ["*.md", "x"]);
    let Op::Add(a) = &ops[2] else { panic!() };
    assert_eq!(
        (a.checksum.as_deref(), a.keep_git_dir, a.unpack),
        (Some("sha256:abc"), true, Some(false))
    );
    let Op::Copy(h) = &ops[3] else { panic!() };
    let names: Vec<_> = h
        .sources
        .iter()
        .map(|s| match s {
            Source::Heredoc(d) => d.content.clone(),
            Source::Path(p) => p.clone(),
        })
        .collect();
    assert_eq!(names, ["a\n", "b\n"]);
}

#[test]
fn env_label_arg_healthcheck_onbuild() {
    let ops = ops(
        "ARG A B=2\nFROM busybox\nENV X=1 Y=\"a b\"\nENV LEGACY some value\nLABEL k=v\nHEALTHCHECK --interval=1m30s --retries=3 CMD [\"true\"]\nHEALTHCHECK NONE\nONBUILD RUN echo hi\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo hi\n",
    );
    assert_eq!(
        ops[0],
        Op::Arg(vec![
            ArgDecl {
                name: "A".into(),
                default: None
            },
            ArgDecl {
                name: "B".into(),
                default: Some("2".into())
            }
        ])
    );
    let Op::Env(env) = &ops[2] else { panic!() };
    assert_eq!(
        (env[1].key.as_str(), env[1].value.as_str()),
        ("Y", "\"a b\"")
    );
    let Op::Env(legacy) = &ops[3] else { panic!() };
    assert_eq!(legacy[0].value, "some value");
    let Op::Healthcheck(Healthcheck::Check(h)) = &ops[5] else {
        panic!()
    };
    assert_eq!(
        (h.interval, h.retries),
        (Some(Duration::from_secs(90)), Some(3))
    );
    assert_eq!(h.test, Command::Exec(vec!["true".into()]));
    assert_eq!(ops[6], Op::Healthcheck(Healthcheck::None));
    let Op::Onbuild(inner) = &ops[7] else {
        panic!()
    };
    assert_eq!(
        inner.op,
        Op::Run(Run {
            command: Command::Shell("echo hi".into()),
            heredocs: vec![],
            mounts: vec![],
            network: None,
            security: None
        })
    );
    assert_eq!(ops[8], Op::Shell(vec!["/bin/bash".into(), "-c".into()]));
    assert_eq!(ops[9], Op::Cmd(Command::Shell("echo hi".into())));
}

#[test]
fn spans_locate_instructions() {
    let df = parse("\u{feff}# escape=`\nFROM busybox\n\nRUN a `\n  b\n");
    let run = &df.instructions[1];
    assert_eq!((run.span.line, run.span.col, run.span.end_line), (4, 1, 5));
    assert_eq!(run.span.original, "RUN a `\n  b");
    assert_eq!(run.span.joined, "RUN a   b");
    assert_eq!(df.directives.escape, '`');
}

#[test]
fn instruction_rules_reject_with_locations() {
    let e = error("FROM busybox\nCOPY --form=x a b\n");
    assert!(matches!(&e.kind, ErrorKind::UnknownFlag { flag, .. } if flag == "form"));
    assert_eq!((e.line, e.col), (2, 6));
    assert_eq!(e.help.as_deref(), Some("did you mean --from?"));
    let e = error("FROM busybox\nRUN --mount=type=cache echo\n");
    assert!(e.to_string().contains("needs a target"), "{e}");
    let e = error("FROM busybox\nHEALTHCHECK --interval=5 CMD true\n");
    assert!(e.to_string().contains("invalid duration"), "{e}");
    let e = error("FROM busybox\nENV PATH\n");
    assert_eq!(e.line, 2);
    let e = error("FROM busybox\nONBUILD FROM x\n");
    assert!(
        e.to_string()
            .contains("isn't allowed as an ONBUILD trigger"),
        "{e}"
    );
    let e = error("FROM busybox\nCMD [\"a\", [\"b\"]]\n");
    assert!(e.to_string().contains("only contain strings"), "{e}");
}

#[test]
fn plan_attaches_instructions_and_resolves_args() {
    let df = parse(
        "ARG VER=1\nARG IMG=busybox:${VER}\nFROM --platform=$BUILDPLATFORM ${IMG} AS base\nARG VER\nARG LOCAL=x-${VER}\nFROM base\nRUN --mount=from=base,target=/b true\nCOPY --from=alpine:3 /etc/os-release /\n",
    );
    let mut opts = PlanOptions::default();
    opts.build_args.insert("VER".into(), "2".into());
    let plan = frontend::plan(&df, &opts).unwrap();
    let base = &plan.stages[0];
    assert_eq!(base.base_ref, "busybox:2");
    assert_eq!(
        base.platform.as_deref(),
        Some(frontend::args::host_platform().as_str())
    );
    assert_eq!(base.instructions.len(), base.steps.len());
    assert_eq!(base.instructions[0].keyword(), "FROM");
    let Op::Arg(decls) = &base.instructions[1].op else {
        panic!()
    };
    let mut stage_vars = BTreeMap::new();
    let ver = plan.args.resolve(&decls[0], &stage_vars).unwrap();
    assert_eq!(ver.as_deref(), Some("2"));
    stage_vars.insert("VER".to_string(), ver.unwrap());
    let Op::Arg(local) = &base.instructions[2].op else {
        panic!()
    };
    assert_eq!(
        plan.args
            .resolve(&local[0], &stage_vars)
            .unwrap()
            .as_deref(),
        Some("x-2")
    );
    let sources: Vec<_> = plan.stages[1]
        .deps
        .iter()
        .map(|d| (d.step, d.source.clone()))
        .collect();
    assert_eq!(
        sources,
        [
            (0, DepSource::Stage(0)),
            (1, DepSource::Stage(0)),
            (2, DepSource::Image("alpine:3".into()))
        ]
    );
    assert_eq!(plan.target_index, 1);
}

#[test]
fn expansion_api() {
    let vars: BTreeMap<String, String> = [("V".to_string(), "a b".to_string())].into();
    assert_eq!(shell::expand("${V// /-}.${X:-d}", &vars).unwrap(), "a-b.d");
    assert_eq!(
        shell::expand_words("x $V \"$V\"", &vars).unwrap(),
        ["x", "a", "b", "a b"]
    );
    let f = shell::FnVars(|n: &str| (n == "Y").then(|| "y".to_string()));
    assert_eq!(shell::expand("$Y$Z", &f).unwrap(), "y");
    assert!(shell::expand("${Z:?required}", &vars).is_err());
    let deep = "${A:-".repeat(5000) + &"}".repeat(5000);
    assert!(
        shell::expand(&deep, &vars).is_err(),
        "deep nesting is refused, not a stack overflow"
    );
    let stars = format!("${{L#{}}}", "*a".repeat(2000));
    let many: BTreeMap<String, String> = [("L".to_string(), "ab".repeat(3000))].into();
    assert_eq!(
        shell::expand(&stars, &many).unwrap(),
        "b".to_string() + &"ab".repeat(1000)
    );
}

#[test]
fn expand_op_follows_buildkit() {
    let df = parse(
        "FROM busybox\nENV ${K}=\"$V x\"\nWORKDIR /w/$V\nCOPY --chown=$V <<EOF $V/\nsay \"$V\"\nEOF\nRUN echo $V\nCOPY <<'RAW' /r\n$V\nRAW\n",
    );
    let vars: BTreeMap<String, String> = [
        ("K".to_string(), "KEY".to_string()),
        ("V".to_string(), "v".to_string()),
    ]
    .into();
    let ex = |i: usize| frontend::expand_op(&df.instructions[i].op, &vars, '\\').unwrap();
    assert_eq!(
        ex(1),
        Op::Env(vec![KeyValue {
            key: "KEY".into(),
            value: "v x".into()
        }])
    );
    assert_eq!(ex(2), Op::Workdir("/w/v".into()));
    let Op::Copy(c) = ex(3) else { panic!() };
    assert_eq!((c.chown.as_deref(), c.dest.as_str()), (Some("v"), "v/"));
    let Source::Heredoc(h) = &c.sources[0] else {
        panic!()
    };
    assert_eq!(h.content, "say \"v\"\n");
    assert_eq!(ex(4), df.instructions[4].op, "RUN is left to the shell");
    let Op::Copy(raw) = ex(5) else { panic!() };
    let Source::Heredoc(h) = &raw.sources[0] else {
        panic!()
    };
    assert_eq!(h.content, "$V\n", "quoted delimiter: literal body");
}

#[test]
fn stage_vars_follow_arg_and_env_rules() {
    let df = parse("ARG G=global\nFROM busybox\nARG G\nARG A=a-$G\nENV E=$A-e A=from-env\nARG P\n");
    let mut opts = PlanOptions::default();
    opts.build_args
        .insert("HTTP_PROXY".into(), "http://p".into());
    let plan = frontend::plan(&df, &opts).unwrap();
    let mut vars = frontend::StageVars::from_image_env(&["PATH=/bin".to_string()]);
    for i in &plan.stages[0].instructions[1..] {
        vars.apply(&i.op, &plan.args, '\\').unwrap();
    }
    assert_eq!(
        vars.image_env(),
        ["PATH=/bin", "E=a-global-e", "A=from-env"]
    );
    let run: BTreeMap<String, String> = vars.run_env(&plan.args).into_iter().collect();
    assert_eq!(run["A"], "from-env", "ENV wins over ARG");
    assert_eq!(run["G"], "global");
    assert_eq!(run["HTTP_PROXY"], "http://p");
    assert!(!run.contains_key("P"), "declared without value: unset");
    assert_eq!(shell::expand("$G/$E", &vars).unwrap(), "global/a-global-e");
}
