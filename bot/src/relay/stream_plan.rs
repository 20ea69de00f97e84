//! When a streamed answer is posted and edited: the pieces of the answer arrive as the model
//! writes them, and [`StreamPlan`] decides, from the text so far, the clock and what is left of
//! the bot's REST budget ([`Pace`]), what to do next: post the first words, edit the message as
//! more come, post another message past Discord's 2,000 characters ([`split_message`], the same
//! cut as a whole answer gets), and once the whole answer is known, bring every message to it
//! (the last one with the answer's buttons), deleting what a shorter answer no longer needs.
//!
//! It decides only; the pipeline acts, so every rule here is unit-tested without Discord.
//!
//! Discord allows about one edit per second per channel and 5 per 5 seconds; an edit waits
//! [`EDIT_GAP`] after the channel's previous write, a little over a second so that the delay
//! a call meets on its way (the REST limiter, the network) cannot squeeze two edits into one
//! second, and never more than [`EDITS_PER_WINDOW`] per [`EDIT_WINDOW`]. Those limits hold for
//! the final edit too: it waits its turn, and it always comes.
//!
//! Edits spend the bot's global budget, which every ticket shares: with less of it left the
//! plan edits less often ([`Pace::Slow`]), and with almost nothing left it posts the first
//! words and then waits for the whole answer ([`Pace::Paused`]), so that streaming one answer
//! never delays another ticket's first answer.

use std::{collections::VecDeque, time::Duration};

use tokio::time::Instant;

use crate::split::split_message;

/// The shortest time between two writes in the channel that an edit follows.
pub(super) const EDIT_GAP: Duration = Duration::from_millis(1_200);
/// Between edits when the bot's REST budget runs low.
pub(super) const SLOW_EDIT_GAP: Duration = Duration::from_secs(3);
/// At most this many edits...
pub(super) const EDITS_PER_WINDOW: usize = 5;
/// ...in any window this long.
pub(super) const EDIT_WINDOW: Duration = Duration::from_secs(5);

/// REST calls left this second below which edits slow down ([`Pace::Slow`]): half the budget.
pub(super) const SLOW_BELOW: u32 = 25;
/// REST calls left this second below which no edit is made before the answer is whole
/// ([`Pace::Paused`]): kept for first answers, typing and commands of other tickets.
pub(super) const PAUSE_BELOW: u32 = 10;

/// How freely the plan may edit, from what is left of the bot's REST budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pace {
    /// Every [`EDIT_GAP`].
    Full,
    /// Every [`SLOW_EDIT_GAP`].
    Slow,
    /// No edit and no further message until the answer is whole.
    Paused,
}

impl Pace {
    /// The pace for `left` calls left in the current second; `None` (the budget is not
    /// measured: serenity's own limiter is in charge) allows the full pace.
    pub(super) fn of(left: Option<u32>) -> Self {
        match left {
            None => Self::Full,
            Some(left) if left < PAUSE_BELOW => Self::Paused,
            Some(left) if left < SLOW_BELOW => Self::Slow,
            Some(_) => Self::Full,
        }
    }

    /// Whether typing calls may be sent: only while the budget is ample.
    pub(super) fn allows_typing(self) -> bool {
        self == Self::Full
    }

    fn edit_gap(self) -> Option<Duration> {
        match self {
            Self::Full => Some(EDIT_GAP),
            Self::Slow => Some(SLOW_EDIT_GAP),
            Self::Paused => None,
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Post message `index` (the first one replies to the question), with the answer's
    /// buttons when `buttons`.
    Post {
        /// Which message of the answer: 0, 1, 2... in order.
        index: usize,
        /// Its text.
        text: String,
        /// Whether it carries the answer's buttons.
        buttons: bool,
    },
    /// Edit message `index` to `text` (and give it the buttons when `buttons`).
    Edit {
        /// Which message.
        index: usize,
        /// Its new text.
        text: String,
        /// Whether it gets the answer's buttons.
        buttons: bool,
    },
    /// Delete message `index`: the whole answer is shorter than what was streamed.
    Delete {
        /// Which message (always the last one posted).
        index: usize,
    },
    /// Nothing to do until `Some(instant)`, or until more text arrives (either way, ask again).
    Wait(Option<Instant>),
    /// Every message shows the whole answer (or the plan gave up after a failure).
    Done,
}

impl Step {
    /// A word for the log line.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Post { .. } => "post",
            Self::Edit { .. } => "edit",
            Self::Delete { .. } => "delete",
            Self::Wait(_) => "wait",
            Self::Done => "done",
        }
    }
}

/// What one posted message shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    /// Its text; `None` after a failed edit (unknown: the final edit is made whatever it is).
    text: Option<String>,
    buttons: bool,
}

/// The whole answer, once known.
#[derive(Debug)]
struct Whole {
    pieces: Vec<String>,
    buttons: bool,
}

/// The plan of one streamed answer in one channel. See the module's documentation.
#[derive(Debug)]
pub(super) struct StreamPlan {
    limit: usize,
    text: String,
    shown: Vec<Shown>,
    /// The time of the channel's last write (post or edit) made by this plan.
    last_write: Option<Instant>,
    /// The times of the latest edits, at most [`EDITS_PER_WINDOW`].
    edits: VecDeque<Instant>,
    whole: Option<Whole>,
    /// A write failed while streaming: nothing more until the answer is whole.
    stalled: bool,
    /// A write of the whole answer failed: nothing more at all.
    gave_up: bool,
}

impl StreamPlan {
    /// A plan for messages of at most `limit` characters.
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            text: String::new(),
            shown: Vec::new(),
            last_write: None,
            edits: VecDeque::with_capacity(EDITS_PER_WINDOW),
            whole: None,
            stalled: false,
            gave_up: false,
        }
    }

    /// The next piece of the answer, following those before it.
    pub(super) fn push(&mut self, piece: &str) {
        self.text.push_str(piece);
    }

    /// The answer starts again from nothing (the request was sent again): what is posted stays
    /// and is edited to the new text as it comes.
    pub(super) fn restart(&mut self) {
        self.text.clear();
    }

    /// The whole answer is `text`; its last message gets the answer's buttons when `buttons`.
    pub(super) fn finish(&mut self, text: &str, buttons: bool) {
        self.whole = Some(Whole {
            pieces: split_message(text, self.limit),
            buttons,
        });
    }

    /// How many messages are posted (as far as the plan knows).
    pub(super) fn posted(&self) -> usize {
        self.shown.len()
    }

    /// The last step returned could not be made: the plan forgets what it assumed of it, and
    /// makes no further write until the answer is whole (then none at all).
    pub(super) fn failed(&mut self, step: &Step) {
        match step {
            Step::Post { index, .. } => self.shown.truncate(*index),
            Step::Edit { index, .. } => {
                if let Some(shown) = self.shown.get_mut(*index) {
                    shown.text = None;
                }
            }
            Step::Delete { .. } | Step::Wait(_) | Step::Done => {}
        }
        if self.whole.is_some() {
            self.gave_up = true;
        } else {
            self.stalled = true;
        }
    }

    /// What to do at `now`, the budget allowing `pace`. The step returned is taken as made;
    /// call [`Self::failed`] when it was not.
    pub(super) fn next(&mut self, now: Instant, pace: Pace) -> Step {
        if self.gave_up {
            return Step::Done;
        }
        match self.whole.take() {
            Some(whole) => {
                let step = self.towards_whole(&whole, now);
                self.whole = Some(whole);
                step
            }
            None => self.while_streaming(now, pace),
        }
    }

    /// Every message to its piece of the whole answer: posts and deletes at once (another
    /// route), edits in their turn, whatever the budget (the final edit always comes).
    fn towards_whole(&mut self, whole: &Whole, now: Instant) -> Step {
        let count = whole.pieces.len();
        if let Some(index) = (self.shown.len()..count).next() {
            let buttons = whole.buttons && index + 1 == count;
            return self.post(index, whole.pieces[index].clone(), buttons, now);
        }
        if self.shown.len() > count {
            let index = self.shown.len() - 1;
            self.shown.pop();
            return Step::Delete { index };
        }
        for (index, piece) in whole.pieces.iter().enumerate() {
            let wanted = Shown {
                text: Some(piece.clone()),
                buttons: whole.buttons && index + 1 == count,
            };
            if self.shown[index] != wanted {
                return self.edit(index, wanted, EDIT_GAP, now);
            }
        }
        Step::Done
    }

    /// The first words as soon as there are any; then, as the pace allows, the messages
    /// brought to the text so far.
    fn while_streaming(&mut self, now: Instant, pace: Pace) -> Step {
        if self.stalled {
            return Step::Wait(None);
        }
        let pieces = split_message(&self.text, self.limit);
        if self.shown.is_empty() {
            return match pieces.into_iter().next() {
                Some(first) => self.post(0, first, false, now),
                None => Step::Wait(None),
            };
        }
        let Some(gap) = pace.edit_gap() else {
            return Step::Wait(None);
        };
        for (index, piece) in pieces.into_iter().enumerate() {
            if index == self.shown.len() {
                return self.post(index, piece, false, now);
            }
            if self.shown[index].text.as_deref() != Some(piece.as_str()) {
                let wanted = Shown {
                    text: Some(piece),
                    buttons: false,
                };
                return self.edit(index, wanted, gap, now);
            }
        }
        Step::Wait(None)
    }

    fn post(&mut self, index: usize, text: String, buttons: bool, now: Instant) -> Step {
        self.shown.push(Shown {
            text: Some(text.clone()),
            buttons,
        });
        self.last_write = Some(now);
        Step::Post {
            index,
            text,
            buttons,
        }
    }

    /// Edits message `index` to `wanted` if the channel's limits allow it at `now`, else waits
    /// for the moment they do.
    fn edit(&mut self, index: usize, wanted: Shown, gap: Duration, now: Instant) -> Step {
        let after_last = self.last_write.map(|at| at + gap);
        let window_full = (self.edits.len() >= EDITS_PER_WINDOW)
            .then(|| self.edits.front().map(|oldest| *oldest + EDIT_WINDOW))
            .flatten();
        let allowed_at = after_last.into_iter().chain(window_full).max();
        if let Some(at) = allowed_at.filter(|at| *at > now) {
            return Step::Wait(Some(at));
        }
        if self.edits.len() >= EDITS_PER_WINDOW {
            self.edits.pop_front();
        }
        self.edits.push_back(now);
        self.last_write = Some(now);
        let step = Step::Edit {
            index,
            text: wanted.text.clone().unwrap_or_default(),
            buttons: wanted.buttons,
        };
        self.shown[index] = wanted;
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 2_000;

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    /// Runs the plan at `now` until it waits, returning the steps it took and the wait.
    fn drain(plan: &mut StreamPlan, now: Instant, pace: Pace) -> (Vec<Step>, Step) {
        let mut steps = Vec::new();
        loop {
            match plan.next(now, pace) {
                step @ (Step::Wait(_) | Step::Done) => return (steps, step),
                step => steps.push(step),
            }
        }
    }

    fn edits(writes: &[(Instant, Step)]) -> usize {
        writes
            .iter()
            .filter(|(_, s)| matches!(s, Step::Edit { .. }))
            .count()
    }

    /// The messages a whole answer of `text` is posted as, the last with buttons.
    fn whole_answer(text: &str) -> Vec<(String, bool)> {
        let pieces = split_message(text, LIMIT);
        let count = pieces.len();
        pieces
            .into_iter()
            .enumerate()
            .map(|(index, piece)| (piece, index + 1 == count))
            .collect()
    }

    /// A model writing `words` words, one every `every` ms, with the plan asked after each
    /// one and whenever it asked to be woken; returns every write with its time.
    fn stream(
        words: usize,
        every: u64,
        pace: impl Fn(usize) -> Pace,
        buttons: bool,
    ) -> (Vec<(Instant, Step)>, String) {
        let start = Instant::now();
        let mut plan = StreamPlan::new(LIMIT);
        let mut writes = Vec::new();
        let mut wake: Option<Instant> = None;
        let mut whole = String::new();
        for n in 0..words {
            let arrives = at(start, every * n as u64);
            // Wake-ups due before this word arrives.
            while let Some(due) = wake.filter(|w| *w < arrives) {
                let (steps, wait) = drain(&mut plan, due, pace(n));
                writes.extend(steps.into_iter().map(|s| (due, s)));
                wake = match wait {
                    Step::Wait(until) => until,
                    _ => None,
                };
            }
            let word = format!("word{n} ");
            whole.push_str(&word);
            plan.push(&word);
            let (steps, wait) = drain(&mut plan, arrives, pace(n));
            writes.extend(steps.into_iter().map(|s| (arrives, s)));
            if let Step::Wait(until) = wait {
                wake = until;
            }
        }
        let mut now = at(start, every * words as u64);
        plan.finish(&whole, buttons);
        loop {
            let (steps, wait) = drain(&mut plan, now, pace(words));
            writes.extend(steps.into_iter().map(|s| (now, s)));
            match wait {
                Step::Wait(Some(until)) => now = until,
                Step::Done => break,
                other => panic!("a finished plan waits for a time or is done, not {other:?}"),
            }
        }
        (writes, whole)
    }

    /// What each message shows after `writes`.
    fn messages(writes: &[(Instant, Step)]) -> Vec<(String, bool)> {
        let mut shown: Vec<(String, bool)> = Vec::new();
        for (_, step) in writes {
            match step {
                Step::Post {
                    index,
                    text,
                    buttons,
                } => {
                    assert_eq!(*index, shown.len(), "messages are posted in order");
                    shown.push((text.clone(), *buttons));
                }
                Step::Edit {
                    index,
                    text,
                    buttons,
                } => shown[*index] = (text.clone(), *buttons),
                Step::Delete { index } => {
                    assert_eq!(*index + 1, shown.len(), "the last message is deleted");
                    shown.pop();
                }
                Step::Wait(_) | Step::Done => {}
            }
        }
        shown
    }

    /// The edits' times keep [`EDIT_GAP`] after every write and at most [`EDITS_PER_WINDOW`]
    /// in any [`EDIT_WINDOW`].
    fn assert_within_limits(writes: &[(Instant, Step)]) {
        let edit_times: Vec<Instant> = writes
            .iter()
            .filter(|(_, s)| matches!(s, Step::Edit { .. }))
            .map(|(t, _)| *t)
            .collect();
        for (index, (time, step)) in writes.iter().enumerate() {
            if matches!(step, Step::Edit { .. }) && index > 0 {
                let previous = writes[index - 1].0;
                assert!(
                    *time - previous >= EDIT_GAP,
                    "an edit {:?} after the previous write",
                    *time - previous
                );
            }
        }
        for (index, first) in edit_times.iter().enumerate() {
            let within = edit_times[index..]
                .iter()
                .take_while(|t| **t - *first < EDIT_WINDOW)
                .count();
            assert!(within <= EDITS_PER_WINDOW, "{within} edits in one window");
        }
    }

    #[test]
    fn the_first_words_are_posted_at_once_as_a_message_without_buttons() {
        let now = Instant::now();
        let mut plan = StreamPlan::new(LIMIT);
        assert_eq!(plan.next(now, Pace::Full), Step::Wait(None), "nothing yet");
        plan.push("  ");
        assert_eq!(
            plan.next(now, Pace::Full),
            Step::Wait(None),
            "blank: Discord refuses it"
        );
        plan.push("Hello");
        assert_eq!(
            plan.next(now, Pace::Full),
            Step::Post {
                index: 0,
                text: "  Hello".to_owned(),
                buttons: false
            }
        );
        plan.push(" there");
        assert_eq!(
            plan.next(at(now, 100), Pace::Full),
            Step::Wait(Some(now + EDIT_GAP)),
            "the edit waits its turn"
        );
        assert_eq!(
            plan.next(now + EDIT_GAP, Pace::Full),
            Step::Edit {
                index: 0,
                text: "  Hello there".to_owned(),
                buttons: false
            }
        );
    }

    #[test]
    fn a_slow_stream_ends_with_every_message_equal_to_the_whole_answer_and_its_buttons() {
        let (writes, whole) = stream(120, 50, |_| Pace::Full, true);
        assert_eq!(messages(&writes), whole_answer(&whole));
        assert!(edits(&writes) > 1);
        assert_within_limits(&writes);
    }

    #[test]
    fn edits_keep_to_one_a_gap_and_five_per_five_seconds_however_fast_the_words_come() {
        for every in [1, 10, 100, 400, 1_100] {
            let (writes, _) = stream(300, every, |_| Pace::Full, true);
            assert_within_limits(&writes);
        }
    }

    #[test]
    fn past_the_limit_another_message_follows_and_the_first_is_completed() {
        // About 3.9 KB of words: two messages, cut where a whole answer would be.
        let (writes, whole) = stream(500, 20, |_| Pace::Full, true);
        let expected = whole_answer(&whole);
        assert_eq!(expected.len(), 2);
        assert_eq!(messages(&writes), expected);
        for (_, step) in &writes {
            if let Step::Post { text, .. } | Step::Edit { text, .. } = step {
                assert!(text.chars().count() <= LIMIT);
            }
        }
        assert_within_limits(&writes);
    }

    #[test]
    fn without_buttons_an_answer_already_shown_whole_needs_no_final_edit() {
        let now = Instant::now();
        let mut plan = StreamPlan::new(LIMIT);
        plan.push("The whole answer.");
        assert!(matches!(plan.next(now, Pace::Full), Step::Post { .. }));
        plan.finish("The whole answer.", false);
        assert_eq!(plan.next(now, Pace::Full), Step::Done);
    }

    #[test]
    fn an_answer_that_never_streamed_is_posted_whole_as_today() {
        let now = Instant::now();
        let mut plan = StreamPlan::new(10);
        plan.finish("alpha beta gamma", true);
        let (steps, end) = drain(&mut plan, now, Pace::Paused);
        let pieces = split_message("alpha beta gamma", 10);
        assert_eq!(pieces.len(), 2);
        assert_eq!(
            steps,
            vec![
                Step::Post {
                    index: 0,
                    text: pieces[0].clone(),
                    buttons: false
                },
                Step::Post {
                    index: 1,
                    text: pieces[1].clone(),
                    buttons: true
                },
            ]
        );
        assert_eq!(end, Step::Done);
    }

    #[test]
    fn a_whole_answer_different_from_the_stream_replaces_it_and_drops_extra_messages() {
        let now = Instant::now();
        let mut plan = StreamPlan::new(10);
        plan.push("one two three four five");
        let (steps, _) = drain(&mut plan, now, Pace::Full);
        assert_eq!(steps.len(), 3, "three messages at once: {steps:?}");
        assert_eq!(plan.posted(), 3);
        // The worker's whole answer is shorter (say, a gate replaced the text).
        plan.finish("Not sure.", true);
        let later = now + EDIT_GAP * 3;
        let (steps, end) = drain(&mut plan, later, Pace::Paused);
        assert_eq!(
            steps,
            vec![
                Step::Delete { index: 2 },
                Step::Delete { index: 1 },
                Step::Edit {
                    index: 0,
                    text: "Not sure.".to_owned(),
                    buttons: true
                },
            ]
        );
        assert_eq!(end, Step::Done);
    }

    #[test]
    fn a_low_budget_slows_the_edits_and_a_spent_one_stops_them_until_the_answer_is_whole() {
        let (full, _) = stream(200, 50, |_| Pace::Full, true);
        let (slow, whole_slow) = stream(200, 50, |_| Pace::Slow, true);
        let (paused, whole) = stream(200, 50, |_| Pace::Paused, true);
        assert!(
            edits(&slow) < edits(&full),
            "{} {}",
            edits(&slow),
            edits(&full)
        );
        assert_eq!(messages(&slow), whole_answer(&whole_slow));
        assert_within_limits(&slow);
        // Spent: the first words, then one final edit.
        assert_eq!(paused.len(), 2, "{paused:?}");
        assert!(matches!(paused[0].1, Step::Post { index: 0, .. }));
        assert_eq!(messages(&paused), whole_answer(&whole));
    }

    #[test]
    fn the_budget_running_low_mid_answer_stops_edits_and_its_return_resumes_them() {
        // Full for the first 40 words, spent for the next 80, full again after.
        let pace = |n: usize| {
            if (40..120).contains(&n) {
                Pace::Paused
            } else {
                Pace::Full
            }
        };
        let start = Instant::now();
        let (writes, whole) = stream(200, 50, pace, true);
        let during_pause = writes.iter().filter(|(t, s)| {
            let ms = (*t - start).as_millis();
            matches!(s, Step::Edit { .. }) && (2_000..6_000).contains(&ms)
        });
        assert_eq!(during_pause.count(), 0);
        let after = writes
            .iter()
            .filter(|(t, s)| matches!(s, Step::Edit { .. }) && (*t - start).as_millis() >= 6_000)
            .count();
        assert!(after >= 2, "{after}");
        assert_eq!(messages(&writes), whole_answer(&whole));
    }

    #[test]
    fn the_pace_follows_the_calls_left_this_second() {
        assert_eq!(Pace::of(None), Pace::Full);
        assert_eq!(Pace::of(Some(50)), Pace::Full);
        assert_eq!(Pace::of(Some(SLOW_BELOW)), Pace::Full);
        assert_eq!(Pace::of(Some(SLOW_BELOW - 1)), Pace::Slow);
        assert_eq!(Pace::of(Some(PAUSE_BELOW - 1)), Pace::Paused);
        assert_eq!(Pace::of(Some(0)), Pace::Paused);
        assert!(Pace::Full.allows_typing());
        assert!(!Pace::Slow.allows_typing() && !Pace::Paused.allows_typing());
    }

    #[test]
    fn a_restart_rewrites_the_posted_message_with_the_new_text() {
        let now = Instant::now();
        let mut plan = StreamPlan::new(LIMIT);
        plan.push("First try");
        assert!(matches!(plan.next(now, Pace::Full), Step::Post { .. }));
        plan.restart();
        plan.push("Second");
        assert_eq!(
            plan.next(now + EDIT_GAP, Pace::Full),
            Step::Edit {
                index: 0,
                text: "Second".to_owned(),
                buttons: false
            }
        );
    }

    #[test]
    fn a_failed_write_stops_streaming_and_the_whole_answer_is_still_tried_once() {
        let now = Instant::now();
        let mut plan = StreamPlan::new(LIMIT);
        plan.push("Hi");
        let post = plan.next(now, Pace::Full);
        plan.failed(&post);
        assert_eq!(plan.posted(), 0);
        plan.push(" there");
        assert_eq!(plan.next(now + EDIT_GAP, Pace::Full), Step::Wait(None));
        plan.finish("Hi there", true);
        let post = plan.next(now + EDIT_GAP, Pace::Full);
        assert_eq!(
            post,
            Step::Post {
                index: 0,
                text: "Hi there".to_owned(),
                buttons: true
            }
        );
        plan.failed(&post);
        assert_eq!(plan.next(now + EDIT_GAP, Pace::Full), Step::Done);
    }
}
