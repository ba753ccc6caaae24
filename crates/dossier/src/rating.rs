//! The citizen's rating of the service, in the spirit of the national satisfaction
//! survey: once the dossier is settled (its result handed over at the desk, sent by
//! post or online, or the dossier refused), three plain questions scored 1–5 and a
//! short comment, once per dossier, recorded as an event that keeps the status.

use catalog::vn_time::format_time;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Event, Rating, Status, current_status};

/// The longest comment kept, in characters.
pub const MAX_COMMENT: usize = 500;

/// The event's label, as the history shows it.
pub const LABEL: &str = "Công dân đã đánh giá mức độ hài lòng";

/// What a second rating gets: a kind word, not an error.
pub const ALREADY: &str =
    "Ông/Bà đã đánh giá hồ sơ này rồi, cảm ơn Ông/Bà đã dành thời gian góp ý.";

/// What a rating before the result gets.
pub const NOT_YET: &str = "Hồ sơ chưa được trả kết quả nên chưa thể đánh giá. Khi nhận kết quả (hoặc khi hồ sơ được trả lời), Ông/Bà sẽ nhận được đường dẫn đánh giá qua tin nhắn và trên trang tra cứu hồ sơ.";

/// One question of the form: its field name and its text.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Question {
    pub name: &'static str,
    pub text: &'static str,
}

/// The three questions, in the order the form asks them.
pub const QUESTIONS: [Question; 3] = [
    Question {
        name: "overall",
        text: "Nhìn chung, Ông/Bà hài lòng thế nào với việc giải quyết hồ sơ?",
    },
    Question {
        name: "on_time",
        text: "Ông/Bà hài lòng thế nào với thời gian giải quyết (có đúng ngày hẹn không)?",
    },
    Question {
        name: "attitude",
        text: "Ông/Bà hài lòng thế nào với thái độ, cách hướng dẫn của cán bộ?",
    },
];

/// The answers, best first, as the survey words them.
pub const SCORES: [(u8, &str); 5] = [
    (5, "Rất hài lòng"),
    (4, "Hài lòng"),
    (3, "Bình thường"),
    (2, "Không hài lòng"),
    (1, "Rất không hài lòng"),
];

/// A score's words ("" for one out of range, which a stored rating never has).
pub fn score_label(score: u8) -> &'static str {
    SCORES
        .iter()
        .find(|(s, _)| *s == score)
        .map_or("", |(_, label)| label)
}

/// Why a rating is not taken; each reads as the citizen's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingRefused {
    /// The result is not handed over yet (nor the dossier refused).
    #[error("{NOT_YET}")]
    NotYet,
    /// This dossier has its rating already.
    #[error("{ALREADY}")]
    Already,
    /// The form's answers do not hold (a score missing or out of range).
    #[error("{0}")]
    Invalid(String),
}

/// The statuses whose dossier is settled for the citizen: handed over (at the desk or
/// online: both are `returned`), posted, or refused. `result-ready` is not: the result
/// is still at the desk, even for online delivery, whose file comes with the hand-over.
pub fn settles(status: Status) -> bool {
    matches!(status, Status::Returned | Status::Posted | Status::Refused)
}

/// The rating given, if any.
pub fn given(events: &[Event]) -> Option<&Rating> {
    events.iter().find_map(|e| e.rating.as_ref())
}

/// May the dossier with `events` be rated now?
pub fn check(events: &[Event]) -> Result<(), RatingRefused> {
    if given(events).is_some() {
        return Err(RatingRefused::Already);
    }
    if !settles(current_status(events)) {
        return Err(RatingRefused::NotYet);
    }
    Ok(())
}

/// Can the tracking page offer the rating link?
pub fn open(events: &[Event]) -> bool {
    check(events).is_ok()
}

/// The form as posted (every value text, so that a hostile one gets a message, not a
/// rejection by the decoder).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    pub overall: Option<String>,
    #[serde(default)]
    pub on_time: Option<String>,
    #[serde(default)]
    pub attitude: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

fn score(value: Option<&str>, question: &Question) -> Result<u8, RatingRefused> {
    value
        .map(str::trim)
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|s| (1..=5).contains(s))
        .ok_or_else(|| {
            RatingRefused::Invalid(format!(
                "Vui lòng chọn một mức trả lời (từ \"Rất hài lòng\" đến \"Rất không hài lòng\") cho câu hỏi: {}",
                question.text
            ))
        })
}

/// The comment as kept: control characters (but line breaks) removed, at most
/// [`MAX_COMMENT`] characters, trimmed; none when empty.
pub fn clean_comment(text: Option<&str>) -> Option<String> {
    let text = text?
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(MAX_COMMENT)
        .collect::<String>();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl RatingForm {
    /// The rating the form gives.
    pub fn rating(&self) -> Result<Rating, RatingRefused> {
        Ok(Rating {
            overall: score(self.overall.as_deref(), &QUESTIONS[0])?,
            on_time: score(self.on_time.as_deref(), &QUESTIONS[1])?,
            attitude: score(self.attitude.as_deref(), &QUESTIONS[2])?,
            comment: clean_comment(self.comment.as_deref()),
        })
    }
}

/// Checks the form against the dossier's `events` and returns the event that records
/// the rating: the status stays where it was.
pub fn take(
    form: &RatingForm,
    events: &[Event],
    at: OffsetDateTime,
) -> Result<Event, RatingRefused> {
    check(events)?;
    let rating = form.rating()?;
    let mut event = Event::new(format_time(at), current_status(events));
    event.label = LABEL.to_owned();
    event.rating = Some(rating);
    Ok(event)
}

/// A rating as the tracking page and the console show it: each question with its
/// answer's words, and the comment.
#[derive(Debug, Clone, Serialize)]
pub struct RatingView {
    pub answers: Vec<Answer>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub question: &'static str,
    pub score: u8,
    pub label: &'static str,
}

pub fn view(rating: &Rating) -> RatingView {
    let scores = [rating.overall, rating.on_time, rating.attitude];
    RatingView {
        answers: QUESTIONS
            .iter()
            .zip(scores)
            .map(|(q, score)| Answer {
                question: q.text,
                score,
                label: score_label(score),
            })
            .collect(),
        comment: rating.comment.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 02:00 UTC);

    fn event(status: Status) -> Event {
        Event::new("2026-12-01T08:00:00+07:00".into(), status)
    }

    fn form(o: &str, t: &str, a: &str, comment: &str) -> RatingForm {
        RatingForm {
            overall: Some(o.into()),
            on_time: Some(t.into()),
            attitude: Some(a.into()),
            comment: Some(comment.into()),
        }
    }

    #[test]
    fn only_a_settled_dossier_is_rated() {
        for s in Status::ALL {
            let events = [event(Status::Accepted), event(s)];
            assert_eq!(check(&events).is_ok(), settles(s), "{s}");
        }
        // Result ready (online delivery too) is still before the hand-over.
        assert_eq!(
            check(&[event(Status::ResultReady)]),
            Err(RatingRefused::NotYet)
        );
        assert_eq!(check(&[]), Err(RatingRefused::NotYet));
        let refused = take(&form("5", "5", "5", ""), &[event(Status::Accepted)], NOW);
        assert_eq!(refused.unwrap_err().to_string(), NOT_YET);
    }

    #[test]
    fn a_rating_keeps_the_status_and_is_given_once() {
        let mut events = vec![event(Status::ResultReady), event(Status::Posted)];
        let e = take(
            &form("5", "4", "3", "  Cán bộ\u{7} nhiệt tình \r\n"),
            &events,
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::Posted);
        assert_eq!(e.label, LABEL);
        assert_eq!(
            e.rating,
            Some(Rating {
                overall: 5,
                on_time: 4,
                attitude: 3,
                comment: Some("Cán bộ nhiệt tình".into())
            })
        );
        events.push(e);
        assert_eq!(current_status(&events), Status::Posted);
        // The second time, whatever is sent, the answer is the kind "already".
        let again = take(&form("1", "1", "1", ""), &events, NOW).unwrap_err();
        assert_eq!(again, RatingRefused::Already);
        assert!(again.to_string().contains("đã đánh giá hồ sơ này rồi"));
        // A payment after the rating does not open it again.
        events.push(event(Status::Posted));
        assert!(!open(&events));
    }

    #[test]
    fn hostile_answers_get_a_plain_message() {
        let events = [event(Status::Returned)];
        for bad in ["9", "0", "-1", "", "năm", "5; drop", "256"] {
            let err = take(&form(bad, "5", "5", ""), &events, NOW).unwrap_err();
            assert!(matches!(err, RatingRefused::Invalid(_)), "{bad}");
            assert!(err.to_string().contains("Vui lòng chọn"), "{bad}");
        }
        let missing = RatingForm {
            overall: Some("4".into()),
            ..RatingForm::default()
        };
        assert!(
            take(&missing, &events, NOW)
                .unwrap_err()
                .to_string()
                .contains("thời gian")
        );
        let huge = "ả".repeat(100_000);
        let e = take(&form("3", "3", "3", &huge), &events, NOW).unwrap();
        assert_eq!(
            e.rating.unwrap().comment.unwrap().chars().count(),
            MAX_COMMENT
        );
        assert_eq!(clean_comment(Some(" \u{0} \t ")), None);
    }

    #[test]
    fn a_rating_reads_in_words() {
        let v = view(&Rating {
            overall: 5,
            on_time: 2,
            attitude: 1,
            comment: None,
        });
        let labels: Vec<_> = v.answers.iter().map(|a| a.label).collect();
        assert_eq!(
            labels,
            ["Rất hài lòng", "Không hài lòng", "Rất không hài lòng"]
        );
    }
}
