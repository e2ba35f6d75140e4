import Foundation
import Testing
@testable import CirculateCore

@Suite("Email addresses")
struct EmailAddressTests {
    @Test("valid addresses are trimmed and keep the local part's case")
    func valid() throws {
        let a = try EmailAddress("  Alex.Morgan+cop@Example.ORG ")
        #expect(a.localPart == "Alex.Morgan+cop")
        #expect(a.domain == "example.org")
        #expect(a.description == "Alex.Morgan+cop@example.org")
        #expect(a.key == "alex.morgan+cop@example.org")
    }

    @Test("addresses differing only in case are the same person")
    func caseInsensitiveKey() throws {
        #expect(try EmailAddress("JO@EXAMPLE.ORG").key == EmailAddress("jo@example.org").key)
    }

    @Test("internationalised domains are accepted and go out as A-labels", arguments: [
        ("jo@bücher.example", "jo@xn--bcher-kva.example"),
        ("kim@münchen.example.org", "kim@xn--mnchen-3ya.example.org"),
        ("li@例え.テスト", "li@xn--r8jz45g.xn--zckzah"),
    ])
    func idn(input: String, envelope: String) throws {
        let a = try EmailAddress(input)
        #expect(a.envelope == envelope)
        // The U-label and A-label spellings of one address are one person.
        #expect(try EmailAddress(envelope).key == a.key)
    }

    @Test("Punycode agrees with RFC 3492's sample and with Python's independent codec")
    func punycode() throws {
        #expect(Punycode.encode("他们为什么不说中文") == "ihqwcrb4cv8a8dqg056pqjye")
        let labels = ["bücher", "zoë", "ελληνικά", "москва", "日本語", "straße", "añoñuevo", "ﬁx-ﬂow"]
        let expected = try python("import sys\nfor l in sys.argv[1:]: print(l.encode('punycode').decode())", arguments: labels)
            .split(separator: "\n").map(String.init)
        #expect(labels.map { Punycode.encode($0) } == expected)
    }

    @Test("malformed addresses are refused with a reason", arguments: [
        ("", "it is empty"),
        ("alex.example.org", "it has no @"),
        ("a@@example.org", "it has more than one @"),
        ("a b@example.org", "it contains a space"),
        ("@example.org", "nothing comes before the @"),
        ("alex@", "nothing comes after the @"),
        ("alex@localhost", "the domain after the @ has no dot (e.g. example.org)"),
        (".alex@example.org", "the part before the @ starts or ends with a dot, or has two dots in a row"),
        ("al..ex@example.org", "the part before the @ starts or ends with a dot, or has two dots in a row"),
        ("alex@exa_mple.org", "the domain contains \"_\""),
        ("alex@-example.org", "the domain part \"-example\" is not valid"),
        ("alex@example..org", "the domain has an empty part (two dots in a row, or a leading dot)"),
        ("alex@[192.0.2.1]", "addresses at an IP address ([...]) are not supported"),
        ("\"alex\"@example.org", "quoted local parts (\"...\"@) are not supported"),
        ("alex@example.123", "the domain ends in a number"),
        ("al(ex)@example.org", "the part before the @ contains \"(\""),
    ])
    func invalid(input: String, reason: String) {
        do {
            _ = try EmailAddress(input)
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.explanation == reason)
        }
    }

    @Test("CR, LF and NUL in an address are refused (no header or SMTP command injection)", arguments: [
        "alex@example.org\r\nRCPT TO:<x@example.org>", "alex\n@example.org", "alex@exam\u{0}ple.org",
    ])
    func controlCharacters(input: String) {
        #expect(throws: AddressError.self) { try EmailAddress(input) }
    }

    @Test("over-long parts are refused")
    func lengths() {
        #expect(throws: AddressError.self) { try EmailAddress(String(repeating: "a", count: 65) + "@example.org") }
        #expect(throws: AddressError.self) { try EmailAddress("a@" + String(repeating: "b", count: 64) + ".org") }
        let long = (0..<60).map { _ in "abcd" }.joined(separator: ".") + ".org"
        #expect(throws: AddressError.self) { try EmailAddress("a@" + long) }
    }

    @Test("a non-ASCII local part is stored but flagged as needing SMTPUTF8")
    func utf8LocalPart() throws {
        let a = try EmailAddress("zoë@example.org")
        #expect(!a.hasASCIILocalPart)
        #expect(try EmailAddress("zoe@example.org").hasASCIILocalPart)
    }

    @Test("the byte-level path for plain addresses agrees with the full rules on 20,000 random near-addresses")
    func simplePathAgrees() throws {
        // Pieces chosen to sit on every edge the byte-level path decides: dots, hyphens, digits, case, atext specials,
        // spaces, a second @, a trailing root dot, label and part lengths, non-ASCII text.
        let rare = ["..", "+", "_", "!", "~", "{", "@", " ", "\t", "é", "(", "\"", "[", String(repeating: "b", count: 62),
                    String(repeating: "c", count: 63), String(repeating: "d", count: 64)]
        let common = ["a", "Z", "0", "9", ".", "-", "xn--bcher-kva", "example", "ORG", "org", "123"]
        let pieces = rare + common + common + common + common
        var generator = SplitMix64(state: 11)
        var simple = 0
        for _ in 0..<20_000 {
            let local = (0..<Int.random(in: 0...3, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            let domain = (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            let text = Bool.random(using: &generator) ? "\(local)@\(domain)" : "\(local)@\(domain).org"
            let full = Result { () throws(AddressError) in try EmailAddress(byFullRules: text) }
            guard let fast = EmailAddress.simpleASCII(text) else { continue }
            simple += 1
            // Whatever the byte-level path accepts, the full rules accept, with the same parts and keys.
            #expect(try full.get() == fast, "\(text)")
            #expect(try full.get().typedKey == fast.typedKey, "\(text)")
            #expect(try full.get().key == fast.key, "\(text)")
        }
        // And it does take the common case: the mix is weighted towards plain pieces, so that thousands of texts are.
        #expect(simple > 1_000, "\(simple)")
        for plain in ["alex.morgan+cop@Example.ORG", "member9999@example.org", "a@b.co", "x_y@sub.xn--bcher-kva.example"] {
            #expect(EmailAddress.simpleASCII(plain) == (try EmailAddress(byFullRules: plain)), "\(plain)")
        }
    }
}
