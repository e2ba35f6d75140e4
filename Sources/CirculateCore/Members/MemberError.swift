import Foundation

/// Why an operation on one person was refused; nothing was changed.
public enum MemberError: Failure, Equatable {
    /// Nobody with this address is on the list.
    case unknown(address: String)
    /// The address was erased on request; only its keyed hash is held.
    case erased(address: String, erasedAt: Date)
    /// Adding someone already on the list.
    case alreadyOnList(address: String, status: MemberStatus)
    /// Changing an address to one that another person on the list already has.
    case addressTaken(address: String)
    /// Turning a stream on for someone who has left: that needs fresh consent, recorded deliberately.
    case needsFreshConsent(address: String)

    /// Invalid input, or unknown person.
    public var kind: FailureKind {
        switch self {
        case .unknown: .unknownPerson
        case .erased, .alreadyOnList, .addressTaken, .needsFreshConsent: .invalidInput
        }
    }

    /// What happened and what to do.
    public var description: String {
        switch self {
        case .unknown(let address):
            "nobody with the address \(address) is on the list; check the spelling (see `circulate member list`)"
        case .erased(let address, let date):
            "\(address) was erased at the person's request on \(Self.day(date)); circulate holds nothing about them but a keyed hash "
                + "and will not add the address again by accident. If the person has asked to rejoin, add them deliberately with "
                + "`circulate member add \(address) --rejoin --source \"how and when they asked\"`"
        case .alreadyOnList(let address, let status):
            "\(address) is already on the list (\(status.rawValue)); change their details with `circulate member edit \(address)`"
        case .addressTaken(let address):
            "\(address) already belongs to another person on the list; nothing was changed"
        case .needsFreshConsent(let address):
            "\(address) has unsubscribed; to mail them again, record their fresh consent with "
                + "`circulate member edit \(address) --resubscribe --source \"how and when they asked\"`"
        }
    }

    /// A calendar day in ISO form (UTC), for messages.
    static func day(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }
}
