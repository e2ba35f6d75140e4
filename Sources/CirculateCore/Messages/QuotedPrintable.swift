/// The quoted-printable content transfer encoding (RFC 2045 §6.7), used for every text part circulate sends.
///
/// Beyond the RFC's rules it always encodes a "." or "From " at the start of an encoded line ("=2E", "=46rom "), so a
/// body can never produce an SMTP end-of-data line or need dot-stuffing (RFC 5321 §4.5.2), and an mbox writer on the
/// way never mangles a line into ">From ". Every CR, LF and CRLF in the input is one line break, written as CRLF: the
/// encoder normalises line breaks before encoding anything, so no bare CR or LF can reach the relay (SMTP smuggling).
enum QuotedPrintable {
    /// RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters; a soft break's "=" counts, so 75 plus "=".
    static let maximumLineLength = 76

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let equals: UInt8 = 0x3D

    /// Encodes text, with line breaks normalised to CRLF.
    static func encode(_ text: String, terminated: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        encode(text, into: &out, terminated: terminated)
        return out
    }

    /// Appends the encoded text to `out`. With `terminated`, output that would not end in CRLF ends with a soft line
    /// break, so the encoded body ends with CRLF (RFC 5322 §2.1) without adding a character to the decoded text.
    static func encode(_ text: String, into out: inout [UInt8], terminated: Bool) {
        var text = text
        text.withUTF8 { encode($0, into: &out, terminated: terminated) }
    }

    /// Appends the encoding of UTF-8 bytes to `out`.
    static func encode(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], terminated: Bool) {
        // Every byte as "=XX", plus a soft break ("=" CRLF) per 25 such triplets, plus a final soft break.
        let worstCase = input.count * 3 + (input.count / 25 + 2) * 3
        // Writing through a pointer into a buffer sized for the worst case, then copying once, is several times
        // faster than appending byte by byte (each append re-checks capacity and uniqueness).
        let encoded = [UInt8](unsafeUninitializedCapacity: worstCase) { buffer, written in
            written = encode(input, into: buffer, terminated: terminated)
        }
        out.append(contentsOf: encoded)
    }

    /// Encodes into `output`, which must hold the worst case; returns the number of bytes written.
    private static func encode(
        _ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>, terminated: Bool
    ) -> Int {
        let count = input.count
        var written = 0
        var column = 0
        var index = 0
        while index < count {
            let byte = input[index]
            if byte == cr || byte == lf {
                output[written] = cr
                output[written + 1] = lf
                written += 2
                column = 0
                index += (byte == cr && index + 1 < count && input[index + 1] == lf) ? 2 : 1
                continue
            }
            // Fast path for the common case: copy a run of bytes that stay literal wherever they fall mid-line, up
            // to the 75th column; the general path below handles everything else, including every line start.
            if column > 0 || (byte != 0x2E && byte != 0x46) {
                let limit = min(count, index + maximumLineLength - 1 - column)
                let runStart = index
                while index < limit {
                    let byte = input[index]
                    if byte >= 0x21, byte <= 0x7E, byte != equals {
                        // printable, written as itself
                    } else if byte == 0x20 || byte == 0x09, index + 1 < count, input[index + 1] != cr,
                        input[index + 1] != lf
                    {
                        // whitespace that does not end a line
                    } else {
                        break
                    }
                    output[written] = byte
                    written += 1
                    index += 1
                }
                column += index - runStart
                if index > runStart { continue }
            }
            let next = index + 1
            let endsLine = next == count || input[next] == cr || input[next] == lf
            var literal: Bool
            switch byte {
            case 0x21...0x3C, 0x3E...0x7E: literal = true
            // Rule 3: whitespace at the end of a line would be stripped by some transports, so it is encoded there.
            case 0x20, 0x09: literal = !endsLine
            default: literal = false
            }
            if literal, column == 0, byte == 0x2E || (byte == 0x46 && startsWithFromSpace(input, at: index)) {
                literal = false
            }
            let width = literal ? 1 : 3
            // The last character of a line may use the 76th column; anything else needs room for a soft break's "="
            // (as does the last character of all when `terminated` adds a final soft break). Checking before writing
            // means an "=XX" triplet is never split across lines.
            let mayUseLastColumn = endsLine && !(terminated && next == count)
            if column + width > maximumLineLength - 1, !(mayUseLastColumn && column + width <= maximumLineLength) {
                output[written] = equals
                output[written + 1] = cr
                output[written + 2] = lf
                written += 3
                column = 0
                continue  // re-examine the byte: it now starts a line, where "." and "From " are encoded
            }
            if literal {
                output[written] = byte
            } else {
                output[written] = equals
                output[written + 1] = hexDigit(byte >> 4)
                output[written + 2] = hexDigit(byte & 0x0F)
            }
            written += width
            column += width
            index = next
        }
        if terminated, column > 0 {
            output[written] = equals
            output[written + 1] = cr
            output[written + 2] = lf
            written += 3
        }
        return written
    }

    /// Upper-case hex, which RFC 2045 §6.7 rule 1 requires.
    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x37 + nibble
    }

    private static func startsWithFromSpace(_ input: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard index + 5 <= input.count else { return false }
        return input[index] == 0x46 && input[index + 1] == 0x72 && input[index + 2] == 0x6F
            && input[index + 3] == 0x6D && input[index + 4] == 0x20
    }
}
