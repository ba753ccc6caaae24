//! How much a plain (no-JavaScript) form post may carry. Its files travel inside the
//! request itself, and in production that request is a Lambda invocation: API Gateway
//! base64-encodes a multipart body (4 bytes for every 3) and wraps it in a JSON event
//! with the request's headers, and Lambda refuses an event over 6 MB with a bare
//! gateway error, after the citizen waited for the whole upload. So the limits are
//! counted back from Lambda's, and the form says them beside its file fields.
//! (With JavaScript, files go straight to S3 and only their per-field limits apply.)

/// Lambda's limit on a synchronous invocation's request (the event JSON), in bytes.
pub const LAMBDA_REQUEST_LIMIT: u64 = 6 * 1024 * 1024;
/// Room in the event for the request's headers, cookies and context.
pub const EVENT_ALLOWANCE: u64 = 64 * 1024;
/// The largest body of a plain post: its base64 and the event fit the Lambda limit.
pub const MAX_BODY_BYTES: u64 = (LAMBDA_REQUEST_LIMIT - EVENT_ALLOWANCE) / 4 * 3;
/// Room in the body for the typed fields and the multipart boundaries.
pub const FIELDS_ALLOWANCE: u64 = 64 * 1024;
/// All the files of one plain post together (about 4.4 MB).
pub const MAX_FILES_BYTES: u64 = MAX_BODY_BYTES - FIELDS_ALLOWANCE;

// The largest allowed post, base64-encoded inside its event, fits Lambda's limit; checked
// when this compiles, so a change to the numbers above cannot break it silently.
const _: () = assert!(MAX_BODY_BYTES.div_ceil(3) * 4 + EVENT_ALLOWANCE <= LAMBDA_REQUEST_LIMIT);
const _: () = assert!(
    MAX_FILES_BYTES > 4 * 1024 * 1024,
    "still room for a phone photo or two"
);

/// The sentence beside each file field of a form sent without JavaScript.
pub fn files_limit_note() -> String {
    format!(
        "Nếu trình duyệt của Ông/Bà không chạy JavaScript, tổng dung lượng các tệp gửi kèm hồ sơ không được quá {}; tệp lớn hơn hãy chụp lại với độ phân giải thấp hơn.",
        crate::validate::human_size(MAX_FILES_BYTES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_states_the_limit_as_citizens_read_sizes() {
        assert_eq!(crate::validate::human_size(MAX_FILES_BYTES), "4,4 MB");
        assert!(files_limit_note().contains("4,4 MB"));
    }
}
