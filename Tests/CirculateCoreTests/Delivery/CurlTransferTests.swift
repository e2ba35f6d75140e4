import Testing
@testable import CirculateCore

@Suite("A transfer's record of the relay's replies")
struct CurlTransferTests {
    private func transfer() -> CurlTransfer {
        CurlTransfer(content: UnsafeRawBufferPointer(start: nil, count: 0), beforeContent: { .go },
                     watchdog: CurlWatchdog(firstReply: .seconds(30), reply: .seconds(30), finalReply: .seconds(60)))
    }

    private func receive(_ line: String, by transfer: CurlTransfer) {
        Array(line.utf8).withUnsafeBytes { transfer.receiveReplyLine($0) }
    }

    @Test("a multi-line reply is one text; controls from the wire become spaces, UTF-8 stays; the reply before is kept")
    func replies() {
        let t = transfer()
        receive("550-5.1.1 The mailbox\r\n", by: t)
        receive("550 5.1.1 does not exist\u{1B}[31m \u{7F}here, Zoë\r\n", by: t)
        #expect(t.reply(withCode: 550) == "550-5.1.1 The mailbox 5.1.1 does not exist [31m  here, Zoë")
        receive("221 2.0.0 Bye\r\n", by: t)
        #expect(t.reply(withCode: 221) == "221 2.0.0 Bye")
        #expect(t.reply(withCode: 550) == "550-5.1.1 The mailbox 5.1.1 does not exist [31m  here, Zoë", "the refusal outlives the QUIT")
        #expect(t.reply(withCode: 0) == "221 2.0.0 Bye")
        #expect(t.reply(withCode: 250) == "")
    }

    @Test("a hostile reply is kept to 512 bytes, however many lines it comes in")
    func limit() {
        let t = transfer()
        receive("250-" + String(repeating: "a", count: 300) + "\r\n", by: t)
        receive("250-" + String(repeating: "b", count: 300) + "\r\n", by: t)
        receive("250 " + String(repeating: "c", count: 300) + "\r\n", by: t)
        let text = t.reply(withCode: 250)
        #expect(text.utf8.count == 512)
        #expect(text.hasPrefix("250-" + String(repeating: "a", count: 300) + " " + String(repeating: "b", count: 10)))
        receive("354 go ahead\n", by: t)
        #expect(t.reply(withCode: 354) == "354 go ahead", "a new reply starts afresh")
    }
}
