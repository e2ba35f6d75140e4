import GRDB

/// How Swift property names map to the schema's snake_case columns: `mailingID` is `mailing_id`, `sendAfter` is
/// `send_after`. One rule for every record type, so no table needs its own list of coding keys.
enum ColumnNaming {
    /// "mailing_id" → "mailingID", "send_after" → "sendAfter".
    @Sendable static func property(forColumn column: String) -> any CodingKey {
        let words = column.split(separator: "_")
        var name = words.first.map(String.init) ?? column
        for word in words.dropFirst() {
            name += word == "id" ? "ID" : word.prefix(1).uppercased() + word.dropFirst()
        }
        return Key(stringValue: name)
    }

    /// "mailingID" → "mailing_id", "sendAfter" → "send_after".
    @Sendable static func column(forProperty key: any CodingKey) -> String {
        var column = ""
        var previousWasUpper = false
        for character in key.stringValue {
            if character.isUppercase {
                if !previousWasUpper && !column.isEmpty { column += "_" }
                column += character.lowercased()
                previousWasUpper = true
            } else {
                column.append(character)
                previousWasUpper = false
            }
        }
        return column
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// A Codable record of one of circulate's tables: columns named by `ColumnNaming`, and a value read from the
/// database that does not fit its type (an unknown state, say) is an error, never a default.
public protocol SchemaRecord: FetchableRecord, Codable {}

extension SchemaRecord {
    /// Columns are snake_case; properties are camelCase with "ID".
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .custom(ColumnNaming.property(forColumn:)) }
}

extension SchemaRecord where Self: EncodableRecord {
    /// See `ColumnNaming`.
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .custom(ColumnNaming.column(forProperty:)) }
}

// The states and kinds stored as text: a value that is not one of them fails to decode (an error, never a default).
extension Mailing.Kind: DatabaseValueConvertible {}
extension Mailing.State: DatabaseValueConvertible {}
extension Delivery.State: DatabaseValueConvertible {}
extension Delivery.Failure: DatabaseValueConvertible {}
extension Participation: DatabaseValueConvertible {}
extension Session.State: DatabaseValueConvertible {}
extension Topic.State: DatabaseValueConvertible {}
extension MonthlyUpdate.State: DatabaseValueConvertible {}
