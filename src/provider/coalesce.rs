//! One call answers many callers. Terraform reads, plans and waits on up to
//! ten resources at once (its parallelism); when several of them need the
//! same kind of lookup (endpoints by ID, a cluster's grants, Snowflake's
//! registration list), the callers that ask while one such call is in
//! flight are answered together by the next one, which names all their
//! keys. Nobody gets an answer older than their question: a key only joins
//! a call not yet sent, so reads that detect drift stay as fresh as before.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::sync::Notify;

/// Lookups of one kind: keys `K` collected into rounds, each round answered
/// by one `fetch` whose answer `T` every caller of the round shares.
pub struct Coalesce<K, T, E> {
    state: Mutex<State<K, T, E>>,
    /// Wakes waiters when a round is answered or the line is free.
    changed: Notify,
}

struct State<K, T, E> {
    /// A round's call is in flight.
    sending: bool,
    /// The round collecting keys, sent when the line is free.
    open: Option<Arc<Round<K, T, E>>>,
}

struct Round<K, T, E> {
    keys: Mutex<Vec<K>>,
    /// `None` inside: its sender was cancelled before an answer came.
    answer: OnceLock<Option<Result<Arc<T>, E>>>,
}

impl<K, T, E> Default for Coalesce<K, T, E> {
    fn default() -> Self {
        Coalesce {
            state: Mutex::new(State {
                sending: false,
                open: None,
            }),
            changed: Notify::new(),
        }
    }
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<K: PartialEq + Clone, T, E: Clone> Coalesce<K, T, E> {
    /// The answer of a call made after this one asked that names `key`
    /// among others. `fetch` is called with the round's distinct keys by
    /// whichever caller sends the round; every caller of one coalescer must
    /// pass an equivalent `fetch`.
    pub async fn get<F, Fut>(&self, key: K, fetch: F) -> Result<Arc<T>, E>
    where
        F: FnOnce(Vec<K>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let round = {
            let mut state = lock(&self.state);
            let round = Arc::clone(state.open.get_or_insert_with(|| {
                Arc::new(Round {
                    keys: Mutex::new(Vec::new()),
                    answer: OnceLock::new(),
                })
            }));
            let mut keys = lock(&round.keys);
            if !keys.contains(&key) {
                keys.push(key.clone());
            }
            drop(keys);
            round
        };
        loop {
            // Registered before looking, so no wake-up falls in between.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match round.answer.get() {
                Some(Some(answer)) => return answer.clone(),
                // The sender went away mid-call: ask alone.
                Some(None) => return fetch(vec![key]).await.map(Arc::new),
                None => {}
            }
            if self.take_line(&round) {
                let sending = Sending {
                    coalesce: self,
                    round: &round,
                };
                let keys = std::mem::take(&mut *lock(&round.keys));
                let answer = fetch(keys).await.map(Arc::new);
                let _ = round.answer.set(Some(answer.clone()));
                drop(sending);
                return answer;
            }
            changed.await;
        }
    }

    /// Whether this caller sends `round` now: nothing else in flight and the
    /// round still open.
    fn take_line(&self, round: &Arc<Round<K, T, E>>) -> bool {
        let mut state = lock(&self.state);
        let open = state.open.as_ref().is_some_and(|o| Arc::ptr_eq(o, round));
        if state.sending || !open {
            return false;
        }
        state.sending = true;
        state.open = None;
        true
    }
}

/// Frees the line when the sender is done or dropped; a dropped sender
/// leaves its round answered with `None`, so its callers ask alone.
struct Sending<'a, K, T, E> {
    coalesce: &'a Coalesce<K, T, E>,
    round: &'a Round<K, T, E>,
}

impl<K, T, E> Drop for Sending<'_, K, T, E> {
    fn drop(&mut self) {
        let _ = self.round.answer.set(None);
        lock(&self.coalesce.state).sending = false;
        self.coalesce.changed.notify_waiters();
    }
}

/// Coalescers by name, so that each resource file declares the lookups it
/// shares without a central list.
#[derive(Default)]
pub struct Coalescers {
    by_name: Mutex<HashMap<&'static str, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Coalescers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescers").finish_non_exhaustive()
    }
}

impl Coalescers {
    /// The coalescer called `name`. A name asked for with other types gets
    /// a coalescer of its own that nobody shares (correct, only slower).
    pub fn get<K, T, E>(&self, name: &'static str) -> Arc<Coalesce<K, T, E>>
    where
        Coalesce<K, T, E>: Send + Sync + 'static,
    {
        let mut by_name = lock(&self.by_name);
        let entry = by_name
            .entry(name)
            .or_insert_with(|| Arc::new(Coalesce::<K, T, E>::default()));
        Arc::clone(entry)
            .downcast::<Coalesce<K, T, E>>()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    type Calls = Arc<Mutex<Vec<Vec<u32>>>>;

    async fn lookup(c: &Coalesce<u32, Vec<u32>, String>, calls: &Calls, key: u32) -> Vec<u32> {
        let calls = Arc::clone(calls);
        let answer = c
            .get(key, |keys| async move {
                calls.lock().unwrap().push(keys.clone());
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, String>(keys.iter().map(|k| k * 10).collect())
            })
            .await
            .unwrap();
        answer.as_ref().clone()
    }

    #[tokio::test]
    async fn callers_waiting_on_a_call_share_the_next_one() {
        let c = Coalesce::default();
        let calls: Calls = Arc::default();
        let answers =
            futures_util::future::join_all([1, 2, 3, 2].map(|k| lookup(&c, &calls, k))).await;
        // The first asks alone; the rest (one key asked twice) wait for it
        // and go together.
        assert_eq!(calls.lock().unwrap().clone(), vec![vec![1], vec![2, 3]]);
        assert_eq!(
            answers,
            vec![vec![10], vec![20, 30], vec![20, 30], vec![20, 30]]
        );
    }

    #[tokio::test]
    async fn a_caller_after_a_call_was_sent_is_not_given_its_answer() {
        let c = Coalesce::default();
        let calls: Calls = Arc::default();
        let first = lookup(&c, &calls, 1);
        let later = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            lookup(&c, &calls, 1).await
        };
        futures_util::future::join(first, later).await;
        assert_eq!(calls.lock().unwrap().clone(), vec![vec![1], vec![1]]);
    }

    #[tokio::test]
    async fn errors_reach_every_caller_of_the_round_and_are_not_kept() {
        let c: Coalesce<u32, (), String> = Coalesce::default();
        let sent = AtomicUsize::new(0);
        let fail = |keys: Vec<u32>| {
            sent.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Err::<(), _>(format!("throttled {keys:?}"))
            }
        };
        let (a, b, d) = tokio::join!(c.get(1, fail), c.get(2, fail), c.get(3, fail));
        assert_eq!(a.unwrap_err(), "throttled [1]");
        assert_eq!(b.unwrap_err(), "throttled [2, 3]");
        assert_eq!(d.unwrap_err(), "throttled [2, 3]");
        let ok = c.get(4, |_| async { Ok::<(), String>(()) }).await;
        assert!(ok.is_ok());
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn callers_of_a_cancelled_sender_ask_alone() {
        let c: Arc<Coalesce<u32, Vec<u32>, String>> = Arc::default();
        let calls: Calls = Arc::default();
        // Holds the line so that the next two callers share one round.
        let blocker = {
            let (c, calls) = (Arc::clone(&c), Arc::clone(&calls));
            tokio::spawn(async move { lookup(&c, &calls, 9).await })
        };
        tokio::task::yield_now().await;
        // The round's first call never answers; whoever sends it says so.
        let (sender_tx, sender_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let hung = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let callers: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|key| {
                let (c, sender_tx, hung) = (Arc::clone(&c), sender_tx.clone(), Arc::clone(&hung));
                tokio::spawn(async move {
                    c.get(key, |keys| async move {
                        if !hung.swap(true, Ordering::SeqCst) {
                            let _ = sender_tx.send(key);
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, String>(keys.iter().map(|k| k * 10).collect::<Vec<_>>())
                    })
                    .await
                    .map(|a| a.as_ref().clone())
                })
            })
            .collect();
        assert_eq!(blocker.await.unwrap(), vec![90]);
        let mut sender_rx = sender_rx;
        let sender = sender_rx.recv().await.unwrap();
        let [first, second]: [_; 2] = callers.try_into().unwrap();
        let (cancelled, other, other_key) = if sender == 1 {
            (first, second, 2)
        } else {
            (second, first, 1)
        };
        cancelled.abort();
        let answer = tokio::time::timeout(Duration::from_secs(2), other)
            .await
            .expect("the other caller of the round is not stranded")
            .unwrap();
        assert_eq!(answer, Ok(vec![other_key * 10]));
    }

    #[test]
    fn coalescers_are_shared_by_name_and_type() {
        let all = Coalescers::default();
        let a = all.get::<String, u8, String>("x");
        let b = all.get::<String, u8, String>("x");
        assert!(Arc::ptr_eq(&a, &b));
        let other = all.get::<String, u16, String>("x");
        let again = all.get::<String, u16, String>("x");
        assert!(
            !Arc::ptr_eq(&other, &again),
            "a mismatched type is never shared"
        );
    }
}
