//! The catalog: movies and theaters, their validation rules, and the catalog a fresh cluster
//! starts with.
//!
//! Catalog entries are replicated state like seats, so every replica lists the same movies. They
//! change only through the admin commands in [`crate::admin`]; this module holds the plain data
//! and the stateless checks, which the fronts also run before anything reaches the log.

use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;
use crate::seat::Layout;

/// Longest title, name, director or location, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Longest synopsis, in characters.
pub const MAX_SYNOPSIS_CHARS: usize = 2000;

/// Most genres, cast members or languages one movie lists.
pub const MAX_LIST_ITEMS: usize = 30;

/// Longest list item or age rating, in characters.
pub const MAX_ITEM_CHARS: usize = 100;

/// A movie as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movie {
    /// Id, assigned at creation (next free) unless the admin chose one; never changes.
    pub id: u32,
    /// Everything else about the movie.
    pub info: MovieInfo,
}

/// The describing fields of a movie: what an admin sends to create one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovieInfo {
    /// Title, 1 to 200 characters.
    pub title: String,
    /// Release year, 1888 to 2100.
    pub year: u16,
    /// Running time, 1 to 1000 minutes.
    pub duration_minutes: u16,
    /// Genres, e.g. `Sci-Fi`.
    pub genres: Vec<String>,
    /// Director(s), as one line.
    pub director: String,
    /// Leading cast.
    pub cast: Vec<String>,
    /// Spoken languages.
    pub languages: Vec<String>,
    /// Age rating, e.g. `PG-13`.
    pub age_rating: String,
    /// One paragraph.
    pub synopsis: String,
}

/// A theater (hall): where showtimes take place and which seats they have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theater {
    /// Id, assigned at creation (next free) unless the admin chose one; never changes.
    pub id: u32,
    /// Everything else about the theater.
    pub info: TheaterInfo,
}

/// The describing fields of a theater: what an admin sends to create one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TheaterInfo {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Where it is, up to 200 characters (may be empty).
    pub location: String,
    /// Seats per row; a showtime copies it at creation, so later theater changes (there are
    /// none yet) could not move booked seats.
    pub layout: Layout,
}

impl MovieInfo {
    /// Checks every field's limits.
    ///
    /// # Errors
    ///
    /// [`Rejection::Invalid`] naming the first broken field.
    pub fn check(&self) -> Result<(), Rejection> {
        check_text("title", &self.title, 1, MAX_NAME_CHARS)?;
        if !(1888..=2100).contains(&self.year) {
            return Err(Rejection::invalid(
                "year",
                format!("{} is not a year from 1888 to 2100", self.year),
            ));
        }
        if !(1..=1000).contains(&self.duration_minutes) {
            return Err(Rejection::invalid(
                "duration_minutes",
                format!("{} is not 1 to 1000 minutes", self.duration_minutes),
            ));
        }
        check_list("genres", &self.genres)?;
        check_text("director", &self.director, 0, MAX_NAME_CHARS)?;
        check_list("cast", &self.cast)?;
        check_list("languages", &self.languages)?;
        check_text("age_rating", &self.age_rating, 0, MAX_ITEM_CHARS)?;
        check_text("synopsis", &self.synopsis, 0, MAX_SYNOPSIS_CHARS)
    }
}

impl TheaterInfo {
    /// Checks the name, location and layout limits.
    ///
    /// # Errors
    ///
    /// [`Rejection::Invalid`] naming the first broken field.
    pub fn check(&self) -> Result<(), Rejection> {
        check_text("name", &self.name, 1, MAX_NAME_CHARS)?;
        check_text("location", &self.location, 0, MAX_NAME_CHARS)?;
        self.layout
            .check()
            .map_err(|reason| Rejection::invalid("rows", reason))
    }
}

/// Text rules: `min..=max` characters, no control characters, no surrounding spaces.
///
/// # Errors
///
/// [`Rejection::Invalid`] for `field`.
pub fn check_text(field: &str, text: &str, min: usize, max: usize) -> Result<(), Rejection> {
    let count = text.chars().count();
    let reason = if count < min {
        "must not be empty".to_string()
    } else if count > max {
        format!("is {count} characters long, at most {max}")
    } else if text.chars().any(char::is_control) {
        "must not contain control characters".to_string()
    } else if text.trim() != text {
        "must not start or end with spaces".to_string()
    } else {
        return Ok(());
    };
    Err(Rejection::invalid(field, reason))
}

/// List rules: at most [`MAX_LIST_ITEMS`] non-empty items of at most [`MAX_ITEM_CHARS`].
fn check_list(field: &str, items: &[String]) -> Result<(), Rejection> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(Rejection::invalid(
            field,
            format!("{} items, at most {MAX_LIST_ITEMS}", items.len()),
        ));
    }
    items
        .iter()
        .try_for_each(|item| check_text(field, item, 1, MAX_ITEM_CHARS))
}

/// A first-start movie: id, title, year, minutes, genres, director, cast, languages, rating,
/// synopsis.
type MovieRow = (
    u32,
    &'static str,
    u16,
    u16,
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
    &'static str,
);

/// The first-start movies.
const DEFAULT_MOVIES: [MovieRow; 4] = [
    (
        1,
        "Inception",
        2010,
        148,
        &["Sci-Fi", "Action", "Thriller"],
        "Christopher Nolan",
        &[
            "Leonardo DiCaprio",
            "Joseph Gordon-Levitt",
            "Elliot Page",
            "Tom Hardy",
        ],
        &["English", "Japanese", "French"],
        "PG-13",
        "A thief who steals secrets through dream-sharing is offered a chance to erase his past \
         by planting an idea instead.",
    ),
    (
        2,
        "The Matrix",
        1999,
        136,
        &["Sci-Fi", "Action"],
        "Lana & Lilly Wachowski",
        &[
            "Keanu Reeves",
            "Laurence Fishburne",
            "Carrie-Anne Moss",
            "Hugo Weaving",
        ],
        &["English"],
        "R",
        "A hacker learns that the world he lives in is a simulation and joins the rebellion \
         against its machine makers.",
    ),
    (
        3,
        "Interstellar",
        2014,
        169,
        &["Sci-Fi", "Drama", "Adventure"],
        "Christopher Nolan",
        &[
            "Matthew McConaughey",
            "Anne Hathaway",
            "Jessica Chastain",
            "Michael Caine",
        ],
        &["English"],
        "PG-13",
        "As Earth fails, a team of explorers travels through a wormhole in search of a new home \
         for humanity.",
    ),
    (
        4,
        "Spirited Away",
        2001,
        125,
        &["Animation", "Fantasy", "Family"],
        "Hayao Miyazaki",
        &[
            "Rumi Hiiragi",
            "Miyu Irino",
            "Mari Natsuki",
            "Bunta Sugawara",
        ],
        &["Japanese"],
        "PG",
        "A ten-year-old girl wanders into a world of spirits and must work in a bathhouse to \
         free her parents.",
    ),
];

/// The movies a fresh cluster starts with, ids 1 to 4.
pub fn default_movies() -> Vec<Movie> {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    DEFAULT_MOVIES
        .iter()
        .map(
            |&(id, title, year, minutes, genres, director, cast, languages, rating, synopsis)| {
                Movie {
                    id,
                    info: MovieInfo {
                        title: title.to_string(),
                        year,
                        duration_minutes: minutes,
                        genres: list(genres),
                        director: director.to_string(),
                        cast: list(cast),
                        languages: list(languages),
                        age_rating: rating.to_string(),
                        synopsis: synopsis.to_string(),
                    },
                }
            },
        )
        .collect()
}

/// The theaters a fresh cluster starts with: four halls of 80, 60, 48 and 4 seats (ids 1 to 4),
/// plus the 24-seat Demo Hall (id 5) of the demo showtime.
pub fn default_theaters() -> Vec<Theater> {
    let theater = |id, name: &str, location: &str, layout| Theater {
        id,
        info: TheaterInfo {
            name: name.to_string(),
            location: location.to_string(),
            layout,
        },
    };
    vec![
        theater(1, "Grand Hall", "Ground floor", Layout::uniform(8, 10)),
        theater(2, "Studio 2", "First floor", Layout::uniform(6, 10)),
        theater(3, "Studio 3", "First floor", Layout::uniform(4, 12)),
        theater(4, "Private Box", "Second floor", Layout::uniform(1, 4)),
        theater(5, "Demo Hall", "Basement", Layout::uniform(4, 6)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_passes_its_own_checks() {
        let movies = default_movies();
        assert_eq!(movies.len(), 4);
        for movie in &movies {
            assert_eq!(movie.info.check(), Ok(()), "{}", movie.info.title);
        }
        let capacities: Vec<u32> = default_theaters()
            .iter()
            .map(|t| {
                assert_eq!(t.info.check(), Ok(()));
                t.info.layout.capacity()
            })
            .collect();
        assert_eq!(capacities, [80, 60, 48, 4, 24]);
    }

    #[test]
    fn movie_checks_name_the_broken_field() {
        let base = default_movies().remove(0).info;
        type Change = Box<dyn Fn(&mut MovieInfo)>;
        let cases: Vec<(&str, Change)> = vec![
            ("title", Box::new(|m| m.title.clear())),
            ("title", Box::new(|m| m.title = " x".into())),
            ("year", Box::new(|m| m.year = 1800)),
            ("duration_minutes", Box::new(|m| m.duration_minutes = 0)),
            ("genres", Box::new(|m| m.genres = vec![String::new()])),
            ("cast", Box::new(|m| m.cast = vec!["x".into(); 31])),
            ("languages", Box::new(|m| m.languages = vec!["a\nb".into()])),
            ("synopsis", Box::new(|m| m.synopsis = "x".repeat(2001))),
        ];
        for (field, change) in cases {
            let mut info = base.clone();
            change(&mut info);
            match info.check() {
                Err(Rejection::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn theater_checks_name_and_rows() {
        let mut info = default_theaters().remove(0).info;
        info.layout = Layout::uniform(27, 5);
        assert!(matches!(info.check(), Err(Rejection::Invalid { field, .. }) if field == "rows"));
        info.layout = Layout::uniform(2, 5);
        info.name = String::new();
        assert!(matches!(info.check(), Err(Rejection::Invalid { field, .. }) if field == "name"));
    }
}
