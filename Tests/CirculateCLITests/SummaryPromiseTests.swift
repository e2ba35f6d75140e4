import Foundation
import Testing

/// A message promises a summary only where one will come: the session has notes, or it is held for them (issue 13).
/// Checked on what `circulate preview` shows, which is built by the same code as the messages the daemon sends.
@Suite("Summary promises: made only for notes that exist or are awaited")
struct SummaryPromiseTests {
    @Test("an invitation to a session held for notes promises a summary; one to a session not held does not")
    func invitations() throws {
        let cli = try CLI()
        cli.at("2026-11-01T09:00:00Z")
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00", "--hold-for-notes").status == 0)
        #expect(try cli.run("session", "add", "--title", "After the first night", "--start", "2026-12-09 10:00").status == 0)

        let held = try cli.run("preview", "invitation", "--session", "1")
        #expect(held.status == 0 && held.stdout.contains("send your apologies; we will send you a summary afterwards."), "\(held.stdout)")
        let notHeld = try cli.run("preview", "invitation", "--session", "2")
        #expect(notHeld.status == 0 && notHeld.stdout.contains("send your apologies.") && !notHeld.stdout.contains("summary"),
                "\(notHeld.stdout)")
    }

    @Test("a thank-you promises what happened at the next session only if that one is held for notes, and says nothing will follow when nothing will")
    func thankYous() throws {
        let cli = try CLI()
        cli.at("2026-11-01T09:00:00Z")
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00").status == 0)
        #expect(try cli.run("session", "add", "--title", "After the first night", "--start", "2026-12-09 10:00").status == 0)
        cli.at("2026-11-10T13:00:00Z")

        // Neither session has notes or is held: no summary is promised, for this session or the next.
        for kind in ["thank-you", "missed-you"] {
            let r = try cli.run("preview", kind, "--session", "1")
            #expect(r.status == 0 && r.stdout.contains("YOU ARE INVITED TO OUR NEXT SESSION"), "\(kind): \(r.stdout) \(r.stderr)")
            #expect(!r.stdout.contains("summary") && !r.stdout.contains("you will still hear what happened"), "\(kind): \(r.stdout)")
        }

        // The next session is held for its notes: people who cannot come to it are told they will still hear.
        #expect(try cli.run("session", "edit", "2", "--hold-for-notes").status == 0)
        let awaited = try cli.run("preview", "thank-you", "--session", "1").stdout
        #expect(awaited.contains("send your apologies; you will still hear what happened."), "\(awaited)")
        #expect(!awaited.contains("A short summary of the session will follow"), "this session is not held and has no notes: \(awaited)")

        // This session held for notes: until they come its summary is promised; once they come, it is given.
        #expect(try cli.run("session", "edit", "1", "--hold-for-notes").status == 0)
        #expect(try cli.run("preview", "thank-you", "--session", "1").stdout.contains("A short summary of the session will follow."))
        #expect(try cli.run("session", "notes", "1", try cli.write("notes.md", "We agreed to ask for a named link worker.\n")).status == 0)
        let given = try cli.run("preview", "thank-you", "--session", "1").stdout
        #expect(given.contains("WHAT WE TALKED ABOUT") && given.contains("a named link worker")
                && !given.contains("will follow"), "\(given)")
    }
}
