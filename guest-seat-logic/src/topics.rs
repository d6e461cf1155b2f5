//! Which live views a committed entry changed: the `topics` of `machine.applied`.
//!
//! A topic is `showtime/{id}`; the host wakes every watch stream on a topic an entry names. An
//! entry changes the showtimes of the holds its log time expired (ticks and refused commands
//! included) and the showtime its command changed. Catalog changes of movies and theaters and
//! settings change no showtime view and name no topic.

use std::collections::BTreeSet;

use crate::command::Effect;
use crate::state::Hold;

/// The topic of a showtime's live view.
pub fn showtime_topic(showtime: u32) -> String {
    format!("showtime/{showtime}")
}

/// The topics an entry changed, deduplicated and sorted as strings: the expired holds'
/// showtimes and, when the command was applied, the showtime its effect changed.
pub fn topics(expired: &[Hold], effect: Option<&Effect>) -> Vec<String> {
    let mut showtimes: BTreeSet<u32> = expired.iter().map(|h| h.showtime).collect();
    showtimes.extend(effect.and_then(effect_showtime));
    // BTreeSet order is numeric; the topic strings are sorted as strings, as promised.
    let mut list: Vec<String> = showtimes.into_iter().map(showtime_topic).collect();
    list.sort();
    list
}

/// The showtime whose view an effect changed, if any.
fn effect_showtime(effect: &Effect) -> Option<u32> {
    match effect {
        Effect::Booked(b) | Effect::Cancelled(b) => Some(b.showtime),
        Effect::Held(h) | Effect::Extended(h) | Effect::Released(h) => Some(h.showtime),
        Effect::Confirmed { hold, .. } => Some(hold.showtime),
        Effect::ShowtimeCreated(detail) => Some(detail.summary.id),
        Effect::ShowtimeRemoved(summary) => Some(summary.id),
        Effect::Tick
        | Effect::MovieCreated(_)
        | Effect::MovieRemoved(_)
        | Effect::TheaterCreated(_)
        | Effect::TheaterRemoved(_)
        | Effect::SettingsUpdated(_) => None,
    }
}
