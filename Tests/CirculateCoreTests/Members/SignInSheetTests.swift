import Foundation
import Testing
@testable import CirculateCore

@Suite("Reading sign-in sheets")
struct SignInSheetTests {
    func sheet(_ text: String) throws -> SignInSheet { try SignInSheet.parse(Data(text.utf8)) }

    @Test("a spreadsheet's UTF-8 export with BOM, CRLF and quoted commas and line breaks")
    func excelUTF8() throws {
        let csv = "\u{FEFF}Full name,E-mail,Organization,Consent?\r\n"
            + "\"Morgan, Alex\",alex@example.org,\"Riverside Housing, North\",Yes\r\n"
            + "Zoë Ångström,zoe@example.org,\"Line one\r\nLine two\",y\r\n"
            + ",,,\r\n"
            + "Kim Lee,kim@example.org,,no\r\n"
        let s = try sheet(csv)
        #expect(s.hasConsentColumn)
        #expect(s.rows.count == 3)
        #expect(s.rows[0] == .init(number: 2, email: "alex@example.org", name: "Morgan, Alex",
                                   organisation: "Riverside Housing, North", consent: "Yes", tags: nil))
        #expect(s.rows[1].name == "Zoë Ångström")
        #expect(s.rows[1].organisation == "Line one\r\nLine two")
        // Row numbers are the spreadsheet's: the blank row 4 is skipped, Kim is on row 5.
        #expect(s.rows[2].number == 5)
        #expect(SignInSheet.consentAnswer(s.rows[2].consent) == .no)
    }

    @Test("a Known as or Preferred name column gives the name used in greetings, and is not listed as ignored",
          arguments: ["Known as", "Preferred name", "Preferred Name"])
    func knownAsColumn(header: String) throws {
        let s = try sheet("Name,\(header),Email,Consent\nSamantha Example,Sam,sam@example.org,yes\nAnn Example,,ann@example.org,yes\n")
        #expect(s.rows.map(\.knownAs) == ["Sam", ""])
        #expect(s.ignoredColumns.isEmpty, "\(s.ignoredColumns)")
        #expect(try sheet("Name,Email\nAnn Example,ann@example.org\n").rows.first?.knownAs == nil)
    }

    @Test("header spellings are matched loosely", arguments: [
        "Email,Name,Organisation,Consent", "E-mail,Full name,Organization,consent", "Email address,Name,Org,Consent (yes/no)",
        "EMAIL ADDRESS,FULL NAME,ORGANISATION,I consent to being contacted",
    ])
    func headers(header: String) throws {
        let s = try sheet(header + "\nalex@example.org,Alex Morgan,Riverside,yes\n")
        #expect(s.rows.first?.email == "alex@example.org")
        #expect(s.rows.first?.name == "Alex Morgan")
        #expect(s.rows.first?.organisation == "Riverside")
        #expect(s.rows.first?.consent == "yes")
        #expect(s.ignoredColumns.isEmpty)
    }

    @Test("semicolon-separated sheets, first and last name columns, and a title row above the header")
    func variants() throws {
        let s = try sheet("Hospital discharge CoP - sign-in 5 Nov;;;\nFirst name;Surname;Email;Consent;Dietary needs\nAlex;Morgan;alex@example.org;true;none\n")
        #expect(s.rows.count == 1)
        #expect(s.rows[0].name == "Alex Morgan")
        #expect(s.rows[0].number == 3)
        #expect(s.ignoredColumns == ["Dietary needs"])
    }

    @Test("Windows-1252 exports are read, with a note")
    func windows1252() throws {
        var bytes = Array("Name,Email,Consent\r\nZo".utf8)
        bytes.append(0xEB)  // ë in Windows-1252
        bytes += Array(" Smith,zoe@example.org,yes\r\n".utf8)
        let s = try SignInSheet.parse(Data(bytes))
        #expect(s.rows[0].name == "Zoë Smith")
        #expect(s.encodingNote != nil)
    }

    @Test("UTF-16 exports with a byte-order mark are read")
    func utf16() throws {
        var data = Data([0xFF, 0xFE])
        data.append("Name\tEmail\tConsent\r\nZoë\tzoe@example.org\tyes\r\n".data(using: .utf16LittleEndian) ?? Data())
        let s = try SignInSheet.parse(data)
        #expect(s.rows[0].email == "zoe@example.org")
        #expect(s.rows[0].name == "Zoë")
    }

    @Test("a sheet without an Email column says what columns it has")
    func noEmail() {
        #expect(throws: SheetError.noEmailColumn(header: ["Name", "Phone"])) { try sheet("Name,Phone\nAlex,0123\n") }
        #expect(throws: SheetError.empty) { try sheet("") }
    }

    @Test("consent answers", arguments: [
        ("Yes", SignInSheet.ConsentAnswer.yes), ("y", .yes), ("TRUE", .yes), ("1", .yes), ("x", .yes), ("✓", .yes),
        ("No", .no), ("n", .no), ("false", .no), ("", .no), (" ", .no), ("maybe", .unclear("maybe")),
    ])
    func consent(cell: String, answer: SignInSheet.ConsentAnswer) {
        #expect(SignInSheet.consentAnswer(cell) == answer)
    }
}
