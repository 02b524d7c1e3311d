//! Durations as people read them at 3 a.m.: `2 min 32 s`, not `151972 ms`.

/// Under a minute with a tenth of a second (`53.6 s`), then minutes and whole
/// seconds (`4 min 15 s`), then hours and minutes (`1 h 05 min`).
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        return format!("{:.1} s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    if s < 3600 {
        return format!("{} min {:02} s", s / 60, s % 60);
    }
    format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn reads_as_people_say_it() {
        assert_eq!(human_duration(0), "0.0 s");
        assert_eq!(human_duration(53_649), "53.6 s");
        assert_eq!(human_duration(59_999), "60.0 s");
        assert_eq!(human_duration(60_000), "1 min 00 s");
        assert_eq!(human_duration(151_972), "2 min 31 s");
        assert_eq!(human_duration(3_900_000), "1 h 05 min");
        assert_eq!(human_duration(-5), "0.0 s");
    }
}
