import Foundation
import Testing

@Suite("Backups and restore")
struct BackupTests {
    func instance() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let sheet = try cli.write("members.csv", "Name,Email,Consent\nAnn Example,ann@example.org,yes\nBo Example,bo@example.org,yes\nCy Example,cy@example.org,yes\n")
        #expect(try cli.run("member", "import", sheet, "--source", "sign-in sheet").status == 0)
        return cli
    }

    @Test("a backup taken while the daemon runs is private, checked, and says what it holds and what it does not")
    func backupWhileRunning() throws {
        let cli = try instance()
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(cli.waitFor(5) { cli.log().contains("delivering through") })
        let r = try cli.run("backup", cli.path("copy.sqlite"))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("3 people") && r.stdout.contains("(checked)") && r.stdout.contains("instance key is not in it"), "\(r.stdout)")
        let mode = try FileManager.default.attributesOfItem(atPath: cli.path("copy.sqlite"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try cli.run("backup", cli.path("copy.sqlite"))
        #expect(again.status == 65 && again.stderr.contains("already exists"), "\(again.stderr)")
        // Dated backups, keeping the newest two.
        for minute in ["01", "02", "03"] {
            cli.at("2026-12-03T09:\(minute):00Z")
            #expect(try cli.run("backup", "--into", cli.path("backups"), "--keep", "2").status == 0)
        }
        let kept = try FileManager.default.contentsOfDirectory(atPath: cli.path("backups")).sorted()
        #expect(kept == ["circulate-20261203-090200.sqlite", "circulate-20261203-090300.sqlite"], "\(kept)")
    }

    @Test("restoring a backup made before an erasure never brings the person back")
    func restoreKeepsErasures() throws {
        let cli = try instance()
        #expect(try cli.run("backup", cli.path("before.sqlite")).status == 0)
        #expect(try cli.run("erase", "bo@example.org").status == 0)
        #expect(try cli.run("member", "add", "dee@example.org", "--source", "sign-up form").status == 0)
        #expect(try cli.run("erase", "dee@example.org").status == 0, "erased after the backup, and never in it")
        let journal = try String(contentsOfFile: cli.path("var/erasures.journal"), encoding: .utf8)
        #expect(journal.split(separator: "\n").count == 2 && !journal.contains("bo@") && !journal.contains("dee@"), "\(journal)")

        let restore = try cli.run("restore", cli.path("before.sqlite"))
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("Applied again 2 erasure(s)") && restore.stdout.contains("1 person(s) removed"), "\(restore.stdout)")
        #expect(restore.stdout.contains("before-restore-"), "\(restore.stdout)")
        let people = try cli.listed().compactMap { $0["email"] as? String }.sorted()
        #expect(people == ["ann@example.org", "cy@example.org"], "\(people)")
        for address in ["bo@example.org", "dee@example.org"] {
            let show = try cli.run("member", "show", address)
            #expect(show.stdout.contains("erased"), "\(address): \(show.stdout) \(show.stderr)")
            let readd = try cli.run("member", "add", address, "--source", "a later sheet")
            #expect(readd.status == 65 && readd.stderr.contains("erased"), "\(address): \(readd.stderr)")
        }
        #expect(cli.databaseBytes().firstRange(of: Array("bo@example.org".utf8)) == nil, "nothing of the erased person in the restored files")
    }

    @Test("restore refuses a running daemon, a file that is not a backup, and a backup made with another key")
    func restoreRefusals() throws {
        let cli = try instance()
        #expect(try cli.run("backup", cli.path("good.sqlite")).status == 0)
        let daemon = try cli.start("serve")
        #expect(cli.waitFor(5) { cli.log().contains("delivering through") })
        let running = try cli.run("restore", cli.path("good.sqlite"))
        #expect(running.status == 75 && running.stderr.contains("stop it first"), "\(running.stderr)")
        daemon.terminate()
        daemon.waitUntilExit()
        let notBackup = try cli.run("restore", try cli.write("notes.txt", "not a database"))
        #expect(notBackup.status == 65 && notBackup.stderr.contains("not a circulate backup"), "\(notBackup.stderr)")
        let other = try CLI()
        #expect(try other.run("init").status == 0)
        #expect(try other.run("backup", other.path("theirs.sqlite")).status == 0)
        let foreign = try cli.run("restore", other.path("theirs.sqlite"))
        #expect(foreign.status == 78 && foreign.stderr.contains("another instance key"), "\(foreign.stderr)")
        #expect(try cli.listed().count == 3, "nothing was replaced")
    }
}
