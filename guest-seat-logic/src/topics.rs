//! `front.topics`: which live views a committed entry changed.
//!
//! A topic is `showtime/{id}`; the host wakes every watch stream on a topic an entry names. The
//! answer bytes of every apply carry the holds its log time expired (see
//! [`crate::command::Applied`] and [`crate::command::Refused`]), so a tick or a refused command
//! still names the showtimes whose seats its expiries freed. Catalog changes of movies and
//! theaters change no showtime view and name no topic.

use std::collections::BTreeSet;

use crate::command::{Applied, Effect, Refused};
use crate::machine::decode;

/// The topic of a showtime's live view.
pub fn showtime_topic(showtime: u32) -> String {
    format!("showtime/{showtime}")
}

/// The topics an applied entry changed, deduplicated and sorted. Answers this plugin cannot
/// decode name nothing (the command bytes are not needed: the answer says everything).
pub fn topics(_command: &[u8], answer: &Result<Vec<u8>, Vec<u8>>) -> Vec<String> {
    let mut showtimes = BTreeSet::new();
    match answer {
        Ok(bytes) => {
            if let Ok(applied) = decode::<Applied>(bytes) {
                showtimes.extend(applied.expired.iter().map(|h| h.showtime));
                showtimes.extend(effect_showtime(&applied.effect));
            }
        }
        Err(bytes) => {
            if let Ok(refused) = decode::<Refused>(bytes) {
                showtimes.extend(refused.expired.iter().map(|h| h.showtime));
            }
        }
    }
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
        | Effect::TheaterRemoved(_) => None,
    }
}
