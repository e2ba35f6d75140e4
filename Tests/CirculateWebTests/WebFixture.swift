@testable import CirculateCore
@testable import CirculateWeb
import Foundation
import Hummingbird
import GRDB
import Logging

/// A site over a fresh database in a temporary folder, with one member on every stream.
final class WebFixture: @unchecked Sendable {
    let folder: URL
    let database: AppDatabase
    let key: InstanceKey
    let site: WebSite
    let metrics = WebMetrics()
    let health = DaemonHealth()
    let memberID: Int64
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    /// The consent wording of the join page in the fixture's sites.
    static let wordingFile = "Version: 2026-03\n\nI agree that Riverside Practice Network keeps my name and address to send me what I ticked.\nI can leave at any time.\n"

    init(basePath: String = "/circulate", join: Bool = false, limits: SignUpLimits = SignUpLimits(), trustedProxies: [String] = [],
         inbox: Bool = false, clock: (@Sendable () -> Date)? = nil) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("circulate-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        database = try AppDatabase.open(path: folder.appendingPathComponent("test.sqlite").path, create: true)
        key = try InstanceKey(bytes: Array(repeating: 7, count: 32))
        var configuration = CirculateCore.Configuration()
        configuration.community.name = "Riverside Practice Network"
        configuration.list.address = "riverside@example.org"
        configuration.list.publicBaseURL = URL(string: "https://lists.example.org\(basePath)")
        configuration.web.listen = ListenAddress(host: "127.0.0.1", port: 0)
        configuration.web.trustedProxies = trustedProxies
        if inbox, let url = URL(string: "imaps://mail.example.org/INBOX") {
            configuration.inbox = CirculateCore.Configuration.Inbox(url: url, username: "riverside")
        }
        if join {
            let wording = try ConsentWording(data: Data(Self.wordingFile.utf8), path: "consent.txt")
            configuration.consent.wording = wording
            configuration.consent.wordingVersion = wording.version
        }
        let grant = try ConsentGrant(lawfulBasis: .consent, source: "sign-in sheet", wordingVersion: "1", recordedBy: "test")
        _ = try database.addMember(NewMember(address: EmailAddress("kim.okafor@example.org"), name: "Kim Okafor", organisation: nil),
                                   grant: grant, key: key, rejoin: false, now: Self.now)
        memberID = try database.read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM member") } ?? 0
        site = WebSite(database: database, configuration: configuration, key: key,
                       pages: try WebPages(directory: folder.path), metrics: metrics, health: health,
                       clock: clock ?? { Self.now.addingTimeInterval(60) }, logger: Logger(label: "test"), signUpLimits: limits)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// The public pages as an application for HummingbirdTesting.
    var publicApp: some ApplicationProtocol { Application(router: site.publicRouter()) }
    /// The operator's listener as an application.
    var operatorApp: some ApplicationProtocol { Application(router: site.operatorRouter()) }

    /// The member's status and streams as stored.
    func member() throws -> Member? {
        try database.read { db in try Member.fetchOne(db, key: memberID) }
    }

    /// The member's consent history, newest last: (action, stream, source).
    func consentEvents() throws -> [(String, String?, String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT action, stream, source FROM consent_event WHERE member_id = ? ORDER BY id", arguments: [memberID])
                .map { ($0["action"], $0["stream"], $0["source"]) }
        }
    }
}
