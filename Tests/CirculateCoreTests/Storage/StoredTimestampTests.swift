@testable import CirculateCore
import Foundation
import GRDB
import Testing

@Suite("Stored timestamps")
struct StoredTimestampTests {
    @Test("dates are stored exactly as GRDB's own formatter writes them, and read back to the same millisecond")
    func sameAsGRDB() throws {
        var generator = SystemRandomNumberGenerator()
        var dates: [Date] = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
                             Date(timeIntervalSince1970: 4_107_542_399.999), Date(timeIntervalSince1970: 1_796_291_267.0005),
                             Date(timeIntervalSince1970: 253_402_300_798.9996), Date()]
        for _ in 0..<20_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: 0..<4_200_000_000, using: &generator)))
        }
        for date in dates {
            let ours = try #require(StoredTimestamp.string(date))
            #expect(ours.databaseValue == date.databaseValue, "\(date.timeIntervalSince1970)")
            let back = try #require(Date.fromDatabaseValue(StoredTimestamp.databaseValue(date)))
            #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.001)
        }
    }

    @Test("dates before 1970 or past 9999 fall back to GRDB's formatter")
    func outOfRange() {
        let early = Date(timeIntervalSince1970: -86_400.25)
        #expect(StoredTimestamp.string(early) == nil)
        #expect(StoredTimestamp.databaseValue(early) == early.databaseValue)
    }
}
