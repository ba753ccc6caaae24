//! Vietnamese text helpers: diacritic folding for search and slugs for URLs.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds Vietnamese text to lowercase ASCII-ish letters so that "dang ky khai sinh"
/// matches "Đăng ký khai sinh". Canonical decomposition strips tones and vowel marks,
/// but đ/Đ (and the look-alike Ð U+00D0) are letters of their own and must be mapped
/// explicitly.
pub fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'đ' | 'Đ' | 'Ð' | 'ð' => 'd',
            other => other,
        })
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A URL slug: folded, ASCII letters and digits, words joined by single hyphens.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in fold(text).chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c);
        } else {
            pending_dash = true;
        }
    }
    slug
}

/// Splits folded text into search words.
pub fn search_words(text: &str) -> impl Iterator<Item = String> + '_ {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// A whole number with its thousands marked by dots, as Vietnamese write them: 8.000.
pub fn thousands(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// Formats an amount of đồng the Vietnamese way: 8.000 đ.
pub fn format_vnd(amount: u64) -> String {
    format!("{} đ", thousands(amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_tones_and_d_stroke() {
        assert_eq!(fold("Đăng ký khai sinh"), "dang ky khai sinh");
        assert_eq!(fold("ĐỒNG Ý"), "dong y");
        assert_eq!(fold("Ðà Nẵng"), "da nang", "look-alike Ð U+00D0");
        assert_eq!(
            fold("Giấy xác nhận tình trạng hôn nhân"),
            "giay xac nhan tinh trang hon nhan"
        );
    }

    #[test]
    fn folds_precomposed_and_decomposed_alike() {
        let precomposed = "Hộ tịch";
        let decomposed: String = precomposed.nfd().collect();
        assert_ne!(precomposed, decomposed);
        assert_eq!(fold(precomposed), fold(&decomposed));
    }

    #[test]
    fn slugs_map_d_stroke_and_collapse_separators() {
        assert_eq!(
            slugify("Thủ tục đăng ký khai tử"),
            "thu-tuc-dang-ky-khai-tu"
        );
        assert_eq!(slugify("Đăng ký giám hộ"), "dang-ky-giam-ho");
        assert_eq!(
            slugify("  Cấp bản sao -- trích lục (khai sinh, khai tử) "),
            "cap-ban-sao-trich-luc-khai-sinh-khai-tu"
        );
        assert_eq!(slugify("Ia Pết 2025"), "ia-pet-2025");
    }

    #[test]
    fn words_are_folded() {
        let words: Vec<_> = search_words("Đăng ký, kết hôn!").collect();
        assert_eq!(words, ["dang", "ky", "ket", "hon"]);
    }

    #[test]
    fn formats_dong() {
        assert_eq!(format_vnd(8000), "8.000 đ");
        assert_eq!(format_vnd(0), "0 đ");
        assert_eq!(format_vnd(1234567), "1.234.567 đ");
    }
}
