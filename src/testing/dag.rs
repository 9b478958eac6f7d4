//! Layered dependency graphs, the shape used by the benchmarks: layer k depends on layer
//! k - 1.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// A layered DAG: module names and, for each, the modules it depends on.
///
/// The same shape, and with [`LayeredDag::read`] the same file, as the benchmark
/// generator's `_dag.json`, so Symphra and the Python library it is compared with run identical graphs.
#[derive(Clone, Debug, Deserialize)]
pub struct LayeredDag {
    /// Number of modules.
    pub n: usize,
    /// Number of layers: the critical path, in modules.
    pub layers: usize,
    /// Modules per layer (the last may have fewer).
    pub width: usize,
    /// Each module's dependencies.
    pub deps: BTreeMap<String, Vec<String>>,
}

impl LayeredDag {
    /// Builds `n` modules named `m00000`, `m00001`, … in layers of `width` (at least 1); each
    /// module past the first layer depends on 1 to 3 distinct modules of the layer below,
    /// chosen by a generator seeded with `seed`.
    pub fn generate(n: usize, width: usize, seed: u64) -> Self {
        let width = width.max(1);
        let names: Vec<String> = (0..n).map(|i| format!("m{i:05}")).collect();
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut deps = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let layer = i / width;
            let mut chosen = Vec::new();
            if layer > 0 {
                let below = &names[(layer - 1) * width..layer * width];
                let count = rng.usize(1..=3).min(below.len());
                while chosen.len() < count {
                    let pick = below[rng.usize(..below.len())].clone();
                    if !chosen.contains(&pick) {
                        chosen.push(pick);
                    }
                }
            }
            deps.insert(name.clone(), chosen);
        }
        Self {
            n,
            layers: n.div_ceil(width),
            width,
            deps,
        }
    }

    /// Builds a DAG of `n` modules in layers about √n wide, like the benchmark generator.
    pub fn square(n: usize, seed: u64) -> Self {
        Self::generate(n, (n as f64).sqrt().round() as usize, seed)
    }

    /// Reads a `_dag.json` written by the benchmark generator.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// `(name, dependencies)` for each module, in name order.
    pub fn modules(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.deps
            .iter()
            .map(|(name, deps)| (name.as_str(), deps.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_layers_that_depend_on_the_layer_below() {
        let dag = LayeredDag::generate(100, 10, 42);
        assert_eq!((dag.n, dag.layers, dag.width), (100, 10, 10));
        for (i, (name, deps)) in dag.modules().enumerate() {
            assert_eq!(name, format!("m{i:05}"));
            let layer = i / 10;
            if layer == 0 {
                assert!(deps.is_empty());
            } else {
                assert!((1..=3).contains(&deps.len()));
                for dep in deps {
                    let j: usize = dep[1..].parse().unwrap();
                    assert_eq!(j / 10, layer - 1, "{name} -> {dep}");
                }
            }
        }
        let again = LayeredDag::generate(100, 10, 42);
        assert_eq!(dag.deps, again.deps);
    }
}
