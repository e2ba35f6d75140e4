import Foundation
import Testing
@testable import CirculateCore

@Suite("The join page's consent wording file")
struct ConsentWordingTests {
    @Test("the file's own version wins over consent.wording_version; a file without a version line is refused, named")
    func versionInTheFile() throws {
        let scratch = try Scratch()
        let path = scratch.path("consent.txt")
        try "Version: 2026-03\n\nI agree to receive what I ticked.\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigurationLoader.parse("[consent]\nwording_version = \"1\"\nwording_file = \"\(path)\"\n", file: "circulate.toml")
        #expect(config.consent.wordingVersion == "2026-03")
        #expect(config.consent.wording?.text == "I agree to receive what I ticked.")
        #expect(config.consent.wording?.hash.count == 64)

        try "I agree to receive what I ticked.\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse("[consent]\nwording_file = \"\(path)\"\n", file: "circulate.toml") }
        do {
            _ = try ConfigurationLoader.parse("[consent]\nwording_file = \"\(path)\"\n", file: "circulate.toml")
        } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("Version: 2026-03"), "\(error)")
        }
    }
}
