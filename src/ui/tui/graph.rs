//! Where the stage graph's boxes and edges go: columns by dependency depth, rows ordered to keep
//! edges short, edges routed through the gaps between columns. Depends only on the plan, so it is
//! computed once per build; drawing reads it.

use std::collections::HashMap;

use super::build::StageView;

pub const BOX_H: u16 = 3;
pub const ROW_PITCH: u16 = 4;
pub const GAP_X: u16 = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Stage(usize),
    Image(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub col: usize,
    pub row: usize,
    pub x: u16,
    pub y: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// `COPY --from` or `RUN --mount=from`: reads files from the other stage.
    Copy,
    /// `FROM`: builds on top of the other stage or image.
    Base,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeCell {
    pub x: u16,
    pub y: u16,
    pub glyph: char,
    pub kind: EdgeKind,
}

#[derive(Debug, Clone, Default)]
pub struct GraphLayout {
    pub nodes: Vec<Node>,
    pub edges: Vec<(usize, usize, EdgeKind)>,
    pub cells: Vec<EdgeCell>,
    pub box_w: u16,
    pub width: u16,
    pub height: u16,
}

const UP: u8 = 1;
const DOWN: u8 = 2;
const LEFT: u8 = 4;
const RIGHT: u8 = 8;

impl GraphLayout {
    pub fn new(stages: &[StageView]) -> Self {
        let mut nodes: Vec<NodeKind> = Vec::new();
        let mut node_of_image: HashMap<String, usize> = HashMap::new();
        let mut stage_node: Vec<usize> = Vec::new();
        let by_label: HashMap<&str, usize> = stages
            .iter()
            .enumerate()
            .flat_map(|(i, s)| [(s.label.as_str(), i)])
            .collect();
        for i in 0..stages.len() {
            stage_node.push(nodes.len());
            nodes.push(NodeKind::Stage(i));
        }
        let mut edges: Vec<(usize, usize, EdgeKind)> = Vec::new();
        let mut image_node = |nodes: &mut Vec<NodeKind>, name: &str| {
            *node_of_image.entry(name.to_string()).or_insert_with(|| {
                nodes.push(NodeKind::Image(name.to_string()));
                nodes.len() - 1
            })
        };
        for (i, stage) in stages.iter().enumerate() {
            let to = stage_node[i];
            let found = by_label
                .get(stage.base.as_str())
                .copied()
                .or_else(|| stage_number(stages, &stage.base));
            let base = match found {
                Some(from) if from != i => Some(stage_node[from]),
                Some(_) => None,
                None if stage.base == "scratch" || stage.base == "?" => None,
                None => Some(image_node(&mut nodes, &stage.base)),
            };
            if let Some(from) = base {
                edges.push((from, to, EdgeKind::Base));
            }
            for dep in &stage.depends_on {
                let from = if let Some(image) = dep.strip_prefix("image:") {
                    image_node(&mut nodes, image)
                } else if let Some(s) = by_label
                    .get(dep.as_str())
                    .copied()
                    .or_else(|| stage_number(stages, dep))
                {
                    stage_node[s]
                } else {
                    image_node(&mut nodes, dep)
                };
                if from != to && !edges.iter().any(|e| e.0 == from && e.1 == to) {
                    edges.push((from, to, EdgeKind::Copy));
                }
            }
        }
        let depth = depths(nodes.len(), &edges);
        let rows = order_rows(&nodes, &edges, &depth);
        let label_w = stages
            .iter()
            .map(|s| s.label.chars().count())
            .max()
            .unwrap_or(0) as u16;
        let box_w = (label_w + 6).clamp(18, 26);
        let placed: Vec<Node> = nodes
            .into_iter()
            .enumerate()
            .map(|(n, kind)| Node {
                kind,
                col: depth[n],
                row: rows[n],
                x: depth[n] as u16 * (box_w + GAP_X),
                y: rows[n] as u16 * ROW_PITCH,
            })
            .collect();
        let width = placed.iter().map(|n| n.x + box_w).max().unwrap_or(0);
        let height = placed.iter().map(|n| n.y + BOX_H).max().unwrap_or(0);
        let mut layout = Self {
            nodes: placed,
            edges,
            cells: Vec::new(),
            box_w,
            width,
            height,
        };
        layout.route();
        layout
    }

    /// The node of stage `stage`.
    pub fn stage_node(&self, stage: usize) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.kind == NodeKind::Stage(stage))
    }

    /// The stage box nearest to `from` in a direction: (dx, dy) with one of them ±1.
    pub fn neighbor(&self, from: usize, dx: i32, dy: i32) -> Option<usize> {
        let here = self.nodes.get(from)?;
        let is_stage = |n: &Node| matches!(n.kind, NodeKind::Stage(_));
        if dy != 0 {
            return self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    is_stage(n)
                        && n.col == here.col
                        && (n.row as i32 - here.row as i32).signum() == dy
                })
                .min_by_key(|(_, n)| n.row.abs_diff(here.row))
                .map(|(i, _)| i);
        }
        // Sideways: the nearest column in that direction that has a stage, then the closest row.
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| is_stage(n) && (n.col as i32 - here.col as i32).signum() == dx)
            .min_by_key(|(_, n)| (n.col.abs_diff(here.col), n.row.abs_diff(here.row)))
            .map(|(i, _)| i)
    }

    /// The node whose box covers canvas cell (x, y).
    pub fn node_at(&self, x: u16, y: u16) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| x >= n.x && x < n.x + self.box_w && y >= n.y && y < n.y + BOX_H)
    }

    fn route(&mut self) {
        let (w, h) = (usize::from(self.width), usize::from(self.height));
        let mut mask = vec![0u8; w * h];
        let mut kind = vec![None::<EdgeKind>; w * h];
        let mut arrows: Vec<(u16, u16, EdgeKind)> = Vec::new();
        let mut set = |x: u16, y: u16, bits: u8, k: EdgeKind| {
            let i = usize::from(y) * w + usize::from(x);
            if i < mask.len() {
                mask[i] |= bits;
                kind[i] = kind[i].max(Some(k));
            }
        };
        // Draw copy edges first so a FROM edge's colour wins where they share cells.
        let mut edges = self.edges.clone();
        edges.sort_by_key(|e| e.2);
        for (from, to, k) in edges {
            let (a, b) = (&self.nodes[from], &self.nodes[to]);
            let (xs, ys) = (a.x + self.box_w, a.y + 1);
            let (xt, yt) = (b.x.saturating_sub(1), b.y + 1);
            let xc = b.x.saturating_sub(3).max(xs);
            for x in xs..=xc {
                let bits = if x > xs { LEFT } else { 0 } | if x < xc { RIGHT } else { 0 };
                set(x, ys, bits | if x == xs { LEFT } else { 0 }, k);
            }
            let (y0, y1) = (ys.min(yt), ys.max(yt));
            for y in y0..=y1 {
                let bits = if y > y0 { UP } else { 0 } | if y < y1 { DOWN } else { 0 };
                set(xc, y, bits, k);
            }
            for x in xc..xt {
                let bits = if x > xc { LEFT } else { 0 } | RIGHT;
                set(x, yt, bits, k);
            }
            if xc < xt {
                set(xc, yt, RIGHT, k);
            }
            arrows.push((xt, yt, k));
        }
        self.cells.clear();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if let (Some(k), Some(glyph)) = (kind[i], glyph(mask[i])) {
                    self.cells.push(EdgeCell {
                        x: x as u16,
                        y: y as u16,
                        glyph,
                        kind: k,
                    });
                }
            }
        }
        for (x, y, k) in arrows {
            self.cells.retain(|c| (c.x, c.y) != (x, y));
            self.cells.push(EdgeCell {
                x,
                y,
                glyph: '▶',
                kind: k,
            });
        }
    }
}

fn stage_number(stages: &[StageView], label: &str) -> Option<usize> {
    let n: usize = label.parse().ok()?;
    (n < stages.len()).then_some(n)
}

/// Longest path from a root: images and stages without inputs sit in column 0.
fn depths(n: usize, edges: &[(usize, usize, EdgeKind)]) -> Vec<usize> {
    let mut depth = vec![0usize; n];
    // Relaxation terminates for a DAG within n rounds; a malformed cyclic plan just stops there.
    for _ in 0..n {
        let mut changed = false;
        for &(from, to, _) in edges {
            if depth[to] < depth[from] + 1 {
                depth[to] = depth[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

/// Rows within each column: by the mean row of a node's inputs (barycentre), so edges stay short.
fn order_rows(
    nodes: &[NodeKind],
    edges: &[(usize, usize, EdgeKind)],
    depth: &[usize],
) -> Vec<usize> {
    let mut row = vec![0usize; nodes.len()];
    let max_depth = depth.iter().copied().max().unwrap_or(0);
    for col in 0..=max_depth {
        let mut members: Vec<(f64, usize)> = (0..nodes.len())
            .filter(|&i| depth[i] == col)
            .map(|i| {
                let inputs: Vec<usize> = edges
                    .iter()
                    .filter(|e| e.1 == i)
                    .map(|e| row[e.0])
                    .collect();
                let centre = if inputs.is_empty() {
                    f64::MAX
                } else {
                    inputs.iter().sum::<usize>() as f64 / inputs.len() as f64
                };
                (centre, i)
            })
            .collect();
        // Column 0: stages before images of the same rank keeps the plan's order readable.
        members.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (r, (_, i)) in members.into_iter().enumerate() {
            row[i] = r;
        }
    }
    row
}

fn glyph(mask: u8) -> Option<char> {
    Some(match mask {
        0 => return None,
        m if m == UP | DOWN || m == UP || m == DOWN => '│',
        m if m == LEFT | RIGHT || m == LEFT || m == RIGHT => '─',
        m if m == DOWN | RIGHT => '╭',
        m if m == DOWN | LEFT => '╮',
        m if m == UP | RIGHT => '╰',
        m if m == UP | LEFT => '╯',
        m if m == UP | DOWN | RIGHT => '├',
        m if m == UP | DOWN | LEFT => '┤',
        m if m == LEFT | RIGHT | DOWN => '┬',
        m if m == LEFT | RIGHT | UP => '┴',
        _ => '┼',
    })
}
