/// Base64 (RFC 4648 §4) as MIME uses it: attachment bodies in 76-character CRLF lines (RFC 2045 §6.8), and unwrapped
/// for RFC 2047 "B" encoded-words.
///
/// Hand-written over bytes because the composer's hot path must not round-trip through `Data` and `String`.
enum MIMEBase64 {
    /// RFC 2045 §6.8: encoded lines are at most 76 characters, i.e. 57 input bytes each.
    static let lineLength = 76
    private static let bytesPerLine = 57

    /// Appends `data` as base64 lines joined by CRLF, without a CRLF after the last line (the caller's delimiter or
    /// line end supplies it).
    static func appendLines(_ data: [UInt8], into out: inout [UInt8]) {
        let lineCount = (data.count + bytesPerLine - 1) / bytesPerLine
        let total = encodedLength(data.count) + max(lineCount - 1, 0) * 2
        // Attachments can be megabytes: write through a pointer into an exactly sized buffer, then copy once.
        let encoded = [UInt8](unsafeUninitializedCapacity: total) { output, written in
            data.withUnsafeBufferPointer { input in
                var start = 0
                while start < input.count {
                    if start > 0 {
                        output[written] = 0x0D
                        output[written + 1] = 0x0A
                        written += 2
                    }
                    let end = min(start + bytesPerLine, input.count)
                    written += encode(UnsafeBufferPointer(rebasing: input[start..<end]), into: output, at: written)
                    start = end
                }
            }
        }
        out.append(contentsOf: encoded)
    }

    /// Writes the base64 of `input` into `output` from `offset`; returns the number of characters written.
    private static func encode(
        _ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>, at offset: Int
    ) -> Int {
        // A StaticString's bytes live in the binary: a table lookup with no global initialisation check.
        let alphabet = alphabetTable.utf8Start
        var index = 0
        var position = offset
        let count = input.count
        while index + 3 <= count {
            let b0 = input[index], b1 = input[index + 1], b2 = input[index + 2]
            output[position] = alphabet[Int(b0 >> 2)]
            output[position + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
            output[position + 2] = alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]
            output[position + 3] = alphabet[Int(b2 & 0x3F)]
            index += 3
            position += 4
        }
        let padding: UInt8 = 0x3D
        switch count - index {
        case 1:
            let b0 = input[index]
            output[position] = alphabet[Int(b0 >> 2)]
            output[position + 1] = alphabet[Int((b0 & 0x03) << 4)]
            output[position + 2] = padding
            output[position + 3] = padding
            position += 4
        case 2:
            let b0 = input[index], b1 = input[index + 1]
            output[position] = alphabet[Int(b0 >> 2)]
            output[position + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
            output[position + 2] = alphabet[Int((b1 & 0x0F) << 2)]
            output[position + 3] = padding
            position += 4
        default:
            break
        }
        return position - offset
    }

    /// Appends `input` as one unbroken run of base64 with padding (an encoded-word's text).
    static func append(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let encoded = [UInt8](unsafeUninitializedCapacity: encodedLength(input.count)) { output, written in
            written = encode(input, into: output, at: 0)
        }
        out.append(contentsOf: encoded)
    }

    /// The number of characters `append` writes for `byteCount` bytes.
    static func encodedLength(_ byteCount: Int) -> Int { (byteCount + 2) / 3 * 4 }

    /// The RFC 4648 alphabet.
    private static let alphabetTable: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
}
