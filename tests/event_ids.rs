//! Event ids, handed to each thread in blocks: unique across threads publishing at once,
//! increasing on each thread, across the end of a block too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use symphra::bus::{Event, EventBus, EventId};

/// More events per thread than a block holds, so that every thread takes a second block.
const PER_THREAD: u64 = EventId::BLOCK + EventId::BLOCK / 2;

#[test]
fn ids_made_on_threads_at_once_are_unique_and_increase_on_each_thread() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                (0..PER_THREAD)
                    .map(|_| Event::new("t.id", ()).map(|event| event.id().get()))
                    .collect::<Result<Vec<u64>, _>>()
            })
        })
        .collect();
    let mut all = HashSet::new();
    for thread in threads {
        let ids = thread
            .join()
            .expect("the thread ran")
            .expect("a valid topic");
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "one thread's ids increase, across its blocks too"
        );
        let before = all.len();
        all.extend(ids);
        assert_eq!(all.len() - before, PER_THREAD as usize, "no id twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_publishing_at_once_on_a_multi_threaded_runtime_get_unique_ids() {
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let _sub = bus
        .subscribe("t.>", move |event: &Event| {
            record.lock().map(|mut ids| ids.push(event.id())).ok();
        })
        .expect("a valid pattern");
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for n in 0..PER_THREAD / 2 {
                    // Both ways of making an event: published by payload, and built.
                    let published = bus.publish(&format!("t.{task}"), n).await;
                    assert!(published.is_ok_and(|report| report.matched() == 1));
                    let built = Event::new("t.built", n).expect("a valid topic");
                    bus.forward(built).await;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("the task ran");
    }
    let seen = seen.lock().expect("not poisoned");
    let unique: HashSet<EventId> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 8 * PER_THREAD as usize);
    assert_eq!(unique.len(), seen.len(), "no id twice");
}
