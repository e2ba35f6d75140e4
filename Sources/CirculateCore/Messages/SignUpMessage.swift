import Foundation

/// The text (Markdown) of the messages the join page sends: plain words that name the community, say what the link
/// does and what happens if the person does nothing. The kind's templates wrap it (join-confirmation.*.mustache).
enum SignUpMessage {
    /// The confirmation link for someone not on the list (or who left it: `returning`).
    static func confirm(community: String, link: String, streams: StreamPreferences, returning: Bool) -> String {
        let chosen = streams.enabled.map(describe).joined(separator: ", ")
        return """
            Someone, probably you, asked on our web page to join \(community) with this address, to receive: \(chosen).
            \(returning ? "\nYou left our list earlier; confirming puts you back on it with these choices.\n" : "")
            To confirm, open this link and press the Confirm button on the page:

            <\(link)>

            The link works for 7 days. If you do nothing, you will not be added, and we delete the request after 7 days.
            """
    }

    /// Word for someone on the list already, with the link to their choices.
    static func alreadyMember(community: String, preferencesLink: String) -> String {
        """
        Someone, probably you, asked on our web page to join \(community) with this address. You are on our list \
        already, so there is nothing to do.

        To see or change what you receive, open your page:

        <\(preferencesLink)>
        """
    }

    private static func describe(_ stream: MailStream) -> String {
        switch stream {
        case .monthlyUpdate: "the monthly update"
        case .sessionInvitations: "invitations to sessions"
        case .reports: "reports"
        }
    }
}
