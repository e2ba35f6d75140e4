import Foundation
import GRDB

/// The dates of one listing, each distinct stored text decoded once. The people imported from one sheet share their
/// times, and GRDB's decoding of a date (a parse and a calendar computation) was a fifth of `member list`'s fetch.
/// A text is decoded by GRDB itself the first time, so every date is exactly the one a plain read gives.
struct StoredDates {
    private var decoded: [String: Date] = [:]

    /// The date in column `index` of `row`.
    mutating func date(_ row: Row, atIndex index: Int) -> Date {
        // The column as SQLite's text: the same stored value always gives the same text.
        guard let text = row[index] as String? else { return row[index] }
        if let date = decoded[text] { return date }
        let date: Date = row[index]
        decoded[text] = date
        return date
    }
}
