/// Roles and free tags that group people for sending ("key-influencer", "board", "north-staffs").
public enum Tag {
    /// The roles the community's workflows know about; any other tag is free.
    public static let roles = ["member", "attendee", "core-group", "key-influencer", "board"]

    /// Lower case, spaces and underscores to hyphens: "Core group" becomes "core-group".
    static func slug(_ text: String) -> String {
        let lowered = TextField.trimmingSpaces(text).lowercased()
        var out = ""
        var lastWasHyphen = false
        for ch in lowered {
            if ch == " " || ch == "_" || ch == "-" {
                if !lastWasHyphen && !out.isEmpty { out.append("-") }
                lastWasHyphen = true
            } else {
                out.append(ch)
                lastWasHyphen = false
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out
    }

    /// A role as typed, with common variants ("Key influencers", "core") mapped to the canonical name.
    public static func role(_ text: String) throws(InvalidField) -> String {
        let s = slug(text)
        let aliases = ["members": "member", "attendees": "attendee", "core": "core-group", "core-groups": "core-group",
                       "key-influencers": "key-influencer", "influencer": "key-influencer",
                       "influencers": "key-influencer", "boards": "board"]
        let role = aliases[s] ?? s
        guard roles.contains(role) else {
            throw InvalidField(field: "role", value: text,
                               problem: "is not a role; use one of: \(roles.joined(separator: ", ")) (or --tag for a free tag)")
        }
        return role
    }

    /// A free tag: letters, digits and hyphens, up to 40 characters.
    public static func tag(_ text: String) throws(InvalidField) -> String {
        let s = slug(text)
        let ok = !s.isEmpty && s.count <= 40 && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
        guard ok else {
            throw InvalidField(field: "tag", value: text,
                               problem: "is not a usable tag; use letters, digits and hyphens, up to 40 characters")
        }
        return s
    }

    /// A cell of a sheet's Roles/Tags column: each entry, separated by commas or semicolons, as a role if it
    /// names one and as a free tag otherwise.
    public static func parseList(_ text: String) throws(InvalidField) -> [String] {
        var result: [String] = []
        for part in text.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == "|" }) {
            let entry = String(part)
            guard !slug(entry).isEmpty else { continue }
            let value: String
            if let known = try? role(entry) { value = known } else { value = try tag(entry) }
            if !result.contains(value) { result.append(value) }
        }
        return result
    }
}
