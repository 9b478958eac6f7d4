//! Finding the dependency cycles that stop a topological sort, each with its full path.

use std::collections::VecDeque;

use super::{Edge, EdgeKind};

/// A cycle found: `path` starts and ends with the same module; `kinds[k]` is the kind of
/// the edge from `path[k]` to `path[k + 1]`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Cycle {
    pub(super) path: Vec<String>,
    pub(super) kinds: Vec<EdgeKind>,
}

/// Returns one cycle per strongly connected group of modules that the sort left out, as a
/// path of names that starts and ends with the group's alphabetically first module, shortest
/// first from there. Groups are reported in the order of their first module's name.
pub(super) fn find<'r>(
    names: &[&str],
    dependencies: impl Fn(usize) -> &'r [Edge] + Copy,
    sorted: &[usize],
) -> Vec<Cycle> {
    let mut left_out = vec![true; names.len()];
    for &i in sorted {
        left_out[i] = false;
    }
    let components = strongly_connected(names.len(), dependencies, &left_out);
    let mut cycles: Vec<Cycle> = components
        .into_iter()
        .filter_map(|component| {
            let start = *component.iter().min_by_key(|&&i| names[i])?;
            let is_cycle =
                component.len() > 1 || dependencies(start).iter().any(|edge| edge.target == start);
            if !is_cycle {
                return None;
            }
            let mut member = vec![false; names.len()];
            for &i in &component {
                member[i] = true;
            }
            let path = shortest_cycle(start, dependencies, &member)?;
            // One edge per pair of modules, so each step names exactly one kind.
            let kinds = path
                .windows(2)
                .filter_map(|step| {
                    dependencies(step[0])
                        .iter()
                        .find(|edge| edge.target == step[1])
                        .map(|edge| edge.kind)
                })
                .collect();
            Some(Cycle {
                path: path.into_iter().map(|i| names[i].to_owned()).collect(),
                kinds,
            })
        })
        .collect();
    // Paths of different groups start with different modules, so they never tie.
    cycles.sort_by(|a, b| a.path.cmp(&b.path));
    cycles
}

/// Tarjan's algorithm, iterative so that long chains cannot overflow the stack, restricted
/// to the modules marked in `within`.
fn strongly_connected<'r>(
    n: usize,
    dependencies: impl Fn(usize) -> &'r [Edge],
    within: &[bool],
) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    // Each frame is (module, position of the next edge to follow).
    let mut frames: Vec<(usize, usize)> = Vec::new();

    for root in (0..n).filter(|&i| within[i]) {
        if index[root] != UNVISITED {
            continue;
        }
        frames.push((root, 0));
        while let Some(&mut (module, ref mut next_edge)) = frames.last_mut() {
            if *next_edge == 0 {
                index[module] = counter;
                low[module] = counter;
                counter += 1;
                stack.push(module);
                on_stack[module] = true;
            }
            let edges = dependencies(module);
            let mut descended = false;
            while *next_edge < edges.len() {
                let target = edges[*next_edge].target;
                *next_edge += 1;
                if !within[target] {
                    continue;
                }
                if index[target] == UNVISITED {
                    frames.push((target, 0));
                    descended = true;
                    break;
                } else if on_stack[target] {
                    low[module] = low[module].min(index[target]);
                }
            }
            if descended {
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low[parent] = low[parent].min(low[module]);
            }
            if low[module] == index[module] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == module {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// Breadth-first search for the shortest path from `start` back to itself inside the group.
fn shortest_cycle<'r>(
    start: usize,
    dependencies: impl Fn(usize) -> &'r [Edge],
    member: &[bool],
) -> Option<Vec<usize>> {
    let mut previous = vec![usize::MAX; member.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(module) = queue.pop_front() {
        for edge in dependencies(module) {
            let target = edge.target;
            if !member[target] {
                continue;
            }
            if target == start {
                let mut path = vec![module];
                let mut at = module;
                while at != start {
                    at = previous[at];
                    path.push(at);
                }
                path.reverse();
                path.push(start);
                return Some(path);
            }
            if previous[target] == usize::MAX && target != start {
                previous[target] = module;
                queue.push_back(target);
            }
        }
    }
    None
}
