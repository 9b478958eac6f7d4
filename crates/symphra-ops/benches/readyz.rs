//! How many `/readyz` requests per second the endpoint answers from memory: a manager of
//! 100 started modules, a real server on a loopback port, and `CLIENTS` keep-alive HTTP
//! clients asking in a loop for `SECONDS` seconds.
//!
//! `nice -n 10 cargo bench -p symphra-ops --bench readyz` prints one line:
//! `readyz: N requests in S s = R req/s (C clients)`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use symphra::prelude::*;

const MODULES: usize = 100;
const CLIENTS: usize = 8;
const SECONDS: u64 = 5;

struct Quiet(String);

impl Module for Quiet {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new(self.0.clone())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut builder = ModuleManager::builder();
        for i in 0..MODULES {
            builder = builder.module(Quiet(format!("module-{i}")));
        }
        let manager = builder.build()?;
        manager.start_all().await?;
        let server = symphra_ops::serve(manager.clone(), "127.0.0.1:0".parse()?).await?;
        let url = format!("http://{}/readyz", server.local_addr());
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(SECONDS);
        let began = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let (url, done) = (url.clone(), Arc::clone(&done));
            clients.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                while Instant::now() < deadline {
                    let response = client.get(&url).send().await?;
                    assert_eq!(response.status().as_u16(), 200);
                    response.bytes().await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, reqwest::Error>(())
            }));
        }
        for client in clients {
            client.await??;
        }
        let elapsed = began.elapsed().as_secs_f64();
        let count = done.load(Ordering::Relaxed);
        println!(
            "readyz: {count} requests in {elapsed:.2} s = {:.0} req/s ({CLIENTS} clients, {MODULES} modules)",
            count as f64 / elapsed
        );
        manager.stop_all().await?;
        server.shutdown().await?;
        Ok(())
    })
}
