import Foundation
import Testing
@testable import CirculateCore

@Suite("Base64 attachment bodies")
struct MIMEBase64Tests {
    private func lines(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        MIMEBase64.appendLines(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("the RFC 4648 test vectors encode as published")
    func rfc4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
                       "foobar": "Zm9vYmFy"]
        for (input, expected) in vectors {
            #expect(lines(Array(input.utf8)) == expected)
        }
    }

    @Test("lines hold 76 characters and are joined by CRLF, with no CRLF after the last")
    func lineWrapping() {
        let fiftySeven = [UInt8](repeating: 0xFF, count: 57)
        #expect(lines(fiftySeven) == String(repeating: "/", count: 76))
        #expect(lines(fiftySeven + [0xFF]) == String(repeating: "/", count: 76) + "\r\n/w==")
    }

    @Test("any data matches Foundation's MIME base64")
    func matchesFoundation() {
        var generator = SplitMix64(state: 4648)
        for count in 0..<300 {
            let data = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let foundation = Data(data).base64EncodedString(
                options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            #expect(lines(data) == foundation)
        }
    }
}
