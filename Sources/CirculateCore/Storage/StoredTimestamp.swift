import Foundation
import GRDB

/// Dates in the form GRDB stores them ("yyyy-MM-dd HH:mm:ss.SSS", UTC), made by arithmetic. GRDB formats each bound
/// date through a shared ICU date formatter, which showed in delivery profiles: the queue binds several dates for
/// every message it claims and records.
enum StoredTimestamp {
    /// The stored form of `date`; dates outside the years 1970-9999 go through GRDB's own formatter.
    static func databaseValue(_ date: Date) -> DatabaseValue {
        string(date).map(\.databaseValue) ?? date.databaseValue
    }

    /// The stored form of `date`, or nil outside the years 1970-9999.
    static func string(_ date: Date) -> String? {
        let interval = date.timeIntervalSince1970
        guard interval.isFinite, interval >= 0, interval < 253_402_300_799 else { return nil }
        // Whole milliseconds, rounded as the date formatter does.
        let millis = Int((interval * 1000).rounded())
        let total = millis / 1000
        let fraction = millis % 1000
        let days = total / 86_400
        let secondOfDay = total % 86_400
        let civil = CivilDate(dayNumber: days)
        let (year, month, day) = (civil.year, civil.month, civil.day)

        var bytes: [UInt8] = []
        bytes.reserveCapacity(23)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(truncatingIfNeeded: 0x30 + (value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(0x2D); digits(month, 2); bytes.append(0x2D); digits(day, 2)
        bytes.append(0x20)
        digits(secondOfDay / 3600, 2); bytes.append(0x3A); digits(secondOfDay / 60 % 60, 2); bytes.append(0x3A)
        digits(secondOfDay % 60, 2); bytes.append(0x2E); digits(fraction, 3)
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Date {
    /// This date as a statement argument in the stored form, made by `StoredTimestamp` rather than GRDB's formatter
    /// (about 50 µs a date): for the statements the delivery engine runs on every turn or message.
    var stored: DatabaseValue { StoredTimestamp.databaseValue(self) }
}
