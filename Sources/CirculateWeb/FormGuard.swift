import CirculateCore
import Foundation

/// The hidden field of the site's own forms: an HMAC of the page's link token and the day, so that a post must come
/// from a page this site served in the last day or two (cross-site request forgery needs the link token as well as
/// this value). The one-click POST has none by design: a mailbox provider's request carries no page state.
struct FormGuard {
    let key: InstanceKey

    /// The value for a form served now on the page of `linkToken`.
    func token(for linkToken: String, now: Date) -> String {
        token(for: linkToken, day: Self.day(now))
    }

    /// Whether `value` was served today or yesterday (UTC) for the page of `linkToken`.
    func accepts(_ value: String, for linkToken: String, now: Date) -> Bool {
        let today = Self.day(now)
        return [today, today - 1].contains { day in
            let expected = Array(token(for: linkToken, day: day).utf8)
            let given = Array(value.utf8)
            guard expected.count == given.count else { return false }
            var difference: UInt8 = 0
            for (a, b) in zip(expected, given) { difference |= a ^ b }
            return difference == 0
        }
    }

    private func token(for linkToken: String, day: Int) -> String {
        key.linkMAC(Array("circulate form|\(linkToken)|\(day)".utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    private static func day(_ date: Date) -> Int { Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) }
}
