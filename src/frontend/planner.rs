//! Dockerfile → `BuildPlan`: stages, FROM expanded with the global ARGs, dependency edges,
//! the target's closure and why the other stages are skipped.

use std::collections::BTreeMap;

use super::error::{ErrorKind, FrontendError};
use super::instruction::{Instruction, Op};
use super::plan::{BuildPlan, DepSource, Dependency, PlanStep, Stage, StageBase};
use super::shell::{self, Vars};
use super::{Dockerfile, suggest};
use super::{args, expand};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Stage name (or number) to build; default: the last stage.
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    /// Target platform (`linux/amd64`); default: this machine's.
    pub platform: Option<String>,
}

pub fn plan(df: &Dockerfile, opts: &PlanOptions) -> Result<BuildPlan, FrontendError> {
    let first_from = df
        .instructions
        .iter()
        .position(|i| matches!(i.op, Op::From(_)))
        .ok_or_else(|| {
            FrontendError::new(ErrorKind::NoStage)
                .with_path(&df.path_str())
                .with_help(
                    "every Dockerfile starts its first stage with FROM <image>, e.g. FROM busybox",
                )
        })?;
    let scope = global_scope(df, opts, first_from)?;
    let groups = stage_groups(&df.instructions[first_from..]);
    let names = stage_names(df, &groups)?;
    let planner = Planner {
        df,
        scope: &scope,
        names: &names,
    };
    let mut stages = Vec::new();
    for (index, g) in groups.into_iter().enumerate() {
        stages.push(planner.stage(index, g)?);
    }
    let target_index = target_index(df, opts, &stages)?;
    mark_needed(&mut stages, target_index);
    let warnings = warnings(df, opts, &scope, &stages);
    Ok(BuildPlan {
        target: planner.label(target_index),
        stages,
        args: scope,
        target_index,
        warnings,
        escape: df.directives.escape,
    })
}

/// The error `kind` pointing at the first line of `i`.
fn error_at(df: &Dockerfile, kind: ErrorKind, i: &Instruction) -> FrontendError {
    let first_line = i.span.original.lines().next().map_or(0, str::len);
    FrontendError::new(kind).at(
        &df.source,
        &df.path_str(),
        i.span.offset,
        first_line.min(i.span.len),
    )
}

/// The global ARGs (only ARG may come before the first FROM), resolved with the build args.
fn global_scope(
    df: &Dockerfile,
    opts: &PlanOptions,
    first_from: usize,
) -> Result<args::ArgScope, FrontendError> {
    let mut globals = Vec::new();
    for i in &df.instructions[..first_from] {
        match &i.op {
            Op::Arg(decls) => globals.extend(decls.iter()),
            _ => {
                return Err(error_at(df, ErrorKind::BeforeFrom(i.keyword().into()), i)
                    .with_help("only ARG may come before the first FROM"));
            }
        }
    }
    let platform = opts.platform.clone().unwrap_or_else(args::host_platform);
    args::resolve_globals(&globals, &opts.build_args, &platform).map_err(|e| {
        let at = df.instructions[..first_from]
            .iter()
            .find(|i| declares(i, &e.word))
            .unwrap_or(&df.instructions[0]);
        error_at(df, e.into(), at)
    })
}

/// Stages: each FROM and the instructions up to the next FROM.
fn stage_groups(instructions: &[Instruction]) -> Vec<Vec<Instruction>> {
    let mut groups: Vec<Vec<Instruction>> = Vec::new();
    for i in instructions {
        match (&i.op, groups.last_mut()) {
            (Op::From(_), _) | (_, None) => groups.push(vec![i.clone()]),
            (_, Some(g)) => g.push(i.clone()),
        }
    }
    groups
}

/// Each stage's `AS` name; two stages with one name are an error at the second.
fn stage_names(
    df: &Dockerfile,
    groups: &[Vec<Instruction>],
) -> Result<Vec<Option<String>>, FrontendError> {
    let mut names: Vec<Option<String>> = Vec::new();
    for g in groups {
        let Op::From(from) = &g[0].op else { continue };
        if let Some(n) = &from.name
            && let Some(first) = names.iter().position(|m| m.as_deref() == Some(n))
        {
            let kind = ErrorKind::DuplicateStage {
                name: n.clone(),
                first,
            };
            return Err(error_at(df, kind, &g[0])
                .with_help("give each stage its own name: FROM image AS name"));
        }
        names.push(from.name.clone());
    }
    Ok(names)
}

/// The index of `--target` (default: the last stage), or an error suggesting the closest name.
fn target_index(
    df: &Dockerfile,
    opts: &PlanOptions,
    stages: &[Stage],
) -> Result<usize, FrontendError> {
    let Some(t) = &opts.target else {
        return Ok(stages.len() - 1);
    };
    find_target(stages, t).ok_or_else(|| {
        let candidates: Vec<String> = stages.iter().map(Stage::label).collect();
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let help = match suggest::closest(t, &refs) {
            Some(s) => format!("did you mean {s}?"),
            None => format!("stages: {}", candidates.join(", ")),
        };
        FrontendError::new(ErrorKind::UnknownTarget(t.clone()))
            .with_path(&df.path_str())
            .with_help(help)
    })
}

/// What every stage's planning reads: the file, the global ARGs and the stage names.
struct Planner<'a> {
    df: &'a Dockerfile,
    scope: &'a args::ArgScope,
    names: &'a [Option<String>],
}

impl Planner<'_> {
    fn err(&self, kind: ErrorKind, i: &Instruction) -> FrontendError {
        error_at(self.df, kind, i)
    }

    fn label(&self, i: usize) -> String {
        self.names[i].clone().unwrap_or_else(|| i.to_string())
    }

    /// Stage `index` from its instructions `g` (a FROM first).
    fn stage(&self, index: usize, g: Vec<Instruction>) -> Result<Stage, FrontendError> {
        let Op::From(from) = &g[0].op else {
            unreachable!("stage_groups starts every group with FROM")
        };
        let meta = &self.scope.meta;
        let base_ref = shell::expand(&from.image, meta).map_err(|e| self.err(e.into(), &g[0]))?;
        if base_ref.is_empty() {
            return Err(self
                .err(ErrorKind::EmptyBase(from.image.clone()), &g[0])
                .with_help("define the ARG before the first FROM, or pass --build-arg"));
        }
        let platform = match &from.platform {
            Some(p) => Some(shell::expand(p, meta).map_err(|e| self.err(e.into(), &g[0]))?),
            None => None,
        };
        let (base, base_stage) = match self.resolve(index, &base_ref, &g[0], true)? {
            Some(i) => (StageBase::Stage(self.label(i)), Some(i)),
            None if base_ref.eq_ignore_ascii_case("scratch") => (StageBase::Scratch(true), None),
            None => (StageBase::Image(base_ref.clone()), None),
        };
        let mut deps: Vec<Dependency> = base_stage
            .map(|i| Dependency {
                step: 0,
                source: DepSource::Stage(i),
            })
            .into_iter()
            .collect();
        deps.extend(self.step_deps(index, &g)?);
        let steps = g
            .iter()
            .enumerate()
            .map(|(i, inst)| PlanStep {
                index: i,
                instruction: inst.keyword().to_string(),
                text: inst.span.joined.clone(),
                line: inst.span.line,
            })
            .collect();
        Ok(Stage {
            index,
            name: self.names[index].clone(),
            base,
            depends_on: self.depends_on(&deps),
            needed: false,
            skip_reason: None,
            steps,
            instructions: g,
            base_ref,
            base_stage,
            platform,
            deps,
        })
    }

    /// What the steps after FROM read from other stages or images (`COPY --from`,
    /// `RUN --mount=from=`), with the stage's ARG/ENV values as far as the plan knows them.
    fn step_deps(&self, index: usize, g: &[Instruction]) -> Result<Vec<Dependency>, FrontendError> {
        let mut deps = Vec::new();
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for (step, inst) in g.iter().enumerate().skip(1) {
            let refs: Vec<String> = match &inst.op {
                Op::Copy(c) => c.from.iter().cloned().collect(),
                Op::Run(r) => r.mounts.iter().filter_map(|m| m.from.clone()).collect(),
                _ => Vec::new(),
            };
            track_vars(inst, self.scope, &mut vars, self.df.directives.escape)
                .map_err(|e| self.err(e.into(), inst))?;
            for r in refs {
                let r = shell::expand(&r, &vars).map_err(|e| self.err(e.into(), inst))?;
                let source = match self.resolve(index, &r, inst, false)? {
                    Some(i) => DepSource::Stage(i),
                    None => DepSource::Image(r),
                };
                deps.push(Dependency { step, source });
            }
        }
        Ok(deps)
    }

    /// The stage `reference` names from stage `index` (by name; by number except on a FROM
    /// line), `None` for an image; a stage may only read stages above it.
    fn resolve(
        &self,
        index: usize,
        reference: &str,
        at: &Instruction,
        from_line: bool,
    ) -> Result<Option<usize>, FrontendError> {
        let lower = reference.to_ascii_lowercase();
        let by_name = self
            .names
            .iter()
            .position(|n| n.as_deref() == Some(lower.as_str()));
        let by_index = if from_line {
            None
        } else {
            reference.parse::<usize>().ok()
        };
        match by_name.or(by_index) {
            Some(i) if i == index => Err(self.err(ErrorKind::SelfReference(self.label(index)), at)),
            Some(i) if i > index => {
                let kind = ErrorKind::LaterStage {
                    stage: self.label(index),
                    target: label_or(self.names, i, reference),
                };
                Err(self.err(kind, at).with_help(
                    "a stage can only use stages above it: move the stage it reads from up",
                ))
            }
            other => Ok(other),
        }
    }

    /// The stages and images a stage depends on, each once, in order of first use.
    fn depends_on(&self, deps: &[Dependency]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in deps {
            let s = match &d.source {
                DepSource::Stage(i) => self.label(*i),
                DepSource::Image(r) => format!("image:{r}"),
            };
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

/// Dockerfile warnings plus build args nothing declares (BuildKit: "build-args were not consumed").
fn warnings(
    df: &Dockerfile,
    opts: &PlanOptions,
    scope: &args::ArgScope,
    stages: &[Stage],
) -> Vec<String> {
    let mut out: Vec<String> = df
        .warnings
        .iter()
        .map(|(line, w)| format!("line {line}: {w}"))
        .collect();
    let declared = |name: &str| {
        stages
            .iter()
            .filter(|s| s.needed)
            .flat_map(|s| &s.instructions)
            .any(|i| match &i.op {
                Op::Arg(decls) => decls.iter().any(|d| d.name == name),
                _ => false,
            })
    };
    for name in opts.build_args.keys() {
        let used = scope.global_names.contains(name)
            || args::PROXY_ARGS.contains(&name.as_str())
            || declared(name);
        if !used {
            out.push(format!("build arg {name} is not declared by any ARG of the stages built, so it has no effect"));
        }
    }
    out
}

/// Follows a stage's ARG and ENV values as far as the plan can know them (the base image's ENV is
/// not known yet). Expansion errors are left to the engine, which has the full environment, except
/// a size limit: that one fails the plan with the instruction's location.
fn track_vars(
    inst: &Instruction,
    scope: &args::ArgScope,
    vars: &mut BTreeMap<String, String>,
    escape: char,
) -> Result<(), shell::ShellError> {
    match &inst.op {
        Op::Arg(decls) => {
            for d in decls {
                if let Some(Some(v)) = only_limit(scope.resolve(d, &*vars as &dyn Vars))? {
                    vars.insert(d.name.clone(), v);
                }
                shell::limits::check_vars(&d.name, &*vars)?;
            }
        }
        Op::Env(kvs) => {
            for kv in kvs {
                let v = only_limit(shell::expand(&kv.value, &*vars))?;
                vars.insert(kv.key.clone(), v.unwrap_or_else(|| kv.value.clone()));
                shell::limits::check_vars(&kv.key, &*vars)?;
            }
        }
        op => {
            only_limit(expand::expand_op(op, &*vars, escape))?;
        }
    }
    Ok(())
}

/// `None` for an expansion error other than a size limit.
fn only_limit<T>(r: Result<T, shell::ShellError>) -> Result<Option<T>, shell::ShellError> {
    match r {
        Err(e) if e.too_large => Err(e),
        Ok(v) => Ok(Some(v)),
        Err(_) => Ok(None),
    }
}

/// Whether `i` is an ARG declaring `word` or with `word` as a default (where a global ARG failed).
fn declares(i: &Instruction, word: &str) -> bool {
    match &i.op {
        Op::Arg(decls) => decls
            .iter()
            .any(|d| d.name == word || d.default.as_deref() == Some(word)),
        _ => false,
    }
}

fn label_or(names: &[Option<String>], i: usize, fallback: &str) -> String {
    names
        .get(i)
        .cloned()
        .flatten()
        .unwrap_or_else(|| fallback.to_string())
}

fn find_target(stages: &[Stage], t: &str) -> Option<usize> {
    let lower = t.to_ascii_lowercase();
    stages
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
        .or_else(|| t.parse::<usize>().ok().filter(|i| *i < stages.len()))
}

fn mark_needed(stages: &mut [Stage], target: usize) {
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if stages[i].needed {
            continue;
        }
        stages[i].needed = true;
        for d in &stages[i].deps {
            if let DepSource::Stage(j) = d.source {
                todo.push(j);
            }
        }
    }
    let target_label = stages[target].label();
    for s in stages.iter_mut().filter(|s| !s.needed) {
        s.skip_reason = Some(format!("not needed by target {target_label}"));
    }
}
