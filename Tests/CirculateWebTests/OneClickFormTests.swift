@testable import CirculateWeb
import Testing

@Suite("Reading a one-click unsubscribe body")
struct OneClickFormTests {
    @Test("form encoding, with the pair anywhere and encoded either way")
    func urlEncoded() {
        let type = "application/x-www-form-urlencoded"
        #expect(OneClickForm.isOneClick(body: Array("List-Unsubscribe=One-Click".utf8), contentType: type))
        #expect(OneClickForm.isOneClick(body: Array("a=1&List-Unsubscribe=One-Click&b=2".utf8), contentType: type))
        #expect(OneClickForm.isOneClick(body: Array("List%2DUnsubscribe=One%2DClick".utf8), contentType: type))
        #expect(OneClickForm.isOneClick(body: Array("List-Unsubscribe=One-Click".utf8), contentType: nil))
        #expect(!OneClickForm.isOneClick(body: Array("List-Unsubscribe=One-Clicks".utf8), contentType: type))
        #expect(!OneClickForm.isOneClick(body: Array("List-Unsubscribe=%ZZ".utf8), contentType: type))
        #expect(!OneClickForm.isOneClick(body: [], contentType: type))
    }

    @Test("multipart/form-data as RFC 8058 shows it, with CRLF or bare LF, quoted boundary or not")
    func multipart() {
        let crlf = "--AaB03x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--AaB03x--\r\n"
        #expect(OneClickForm.isOneClick(body: Array(crlf.utf8), contentType: "multipart/form-data; boundary=AaB03x"))
        #expect(OneClickForm.isOneClick(body: Array(crlf.utf8), contentType: "multipart/form-data; boundary=\"AaB03x\""))
        let lf = "--AaB03x\nContent-Disposition: form-data; name=List-Unsubscribe\n\nOne-Click\n--AaB03x--\n"
        #expect(OneClickForm.isOneClick(body: Array(lf.utf8), contentType: "multipart/form-data; boundary=AaB03x"))
        let two = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--"
        #expect(OneClickForm.isOneClick(body: Array(two.utf8), contentType: "multipart/form-data; boundary=b"))
        #expect(!OneClickForm.isOneClick(body: Array(crlf.utf8), contentType: "multipart/form-data; boundary=other"))
        #expect(!OneClickForm.isOneClick(body: Array(crlf.utf8), contentType: "multipart/form-data"))
        let wrong = "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nNo\r\n--b--"
        #expect(!OneClickForm.isOneClick(body: Array(wrong.utf8), contentType: "multipart/form-data; boundary=b"))
    }
}
