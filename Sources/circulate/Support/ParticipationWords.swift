import CirculateCore

/// The words the commands use for where a person stands with a session: the stored states are named for the
/// database ("accepted", "invited"), a coordinator and a script read "coming" and "no reply".
extension Participation {
    /// The `--json` key or value: no_reply, coming, maybe, apologies, attended.
    var jsonKey: String {
        switch self {
        case .invited: "no_reply"
        case .accepted: "coming"
        case .maybe: "maybe"
        case .apologies: "apologies"
        case .attended: "attended"
        }
    }

    /// The words in text output.
    var label: String {
        switch self {
        case .invited: "no reply"
        case .accepted: "coming"
        case .maybe: "maybe"
        case .apologies: "apologies"
        case .attended: "attended"
        }
    }
}
