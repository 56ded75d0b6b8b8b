import Foundation
import XCTest
@testable import MobilekitQAHarness

final class SHA256Tests: XCTestCase {
    func hex(_ s: String) -> String { FixtureSHA256.hex(Data(s.utf8)) }

    func testFIPSVectors() {
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testPaddingBoundaries() {
        // hashlib.sha256(b"a" * n).hexdigest()
        let expected = [
            55: "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            56: "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            63: "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
            64: "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            65: "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0",
            119: "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb",
            120: "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c",
            1000: "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3",
        ]
        for (n, digest) in expected {
            XCTAssertEqual(hex(String(repeating: "a", count: n)), digest, "n = \(n)")
            XCTAssertEqual(FixtureSHA256.hexString(FixtureSHA256.hash(bytes: [UInt8](repeating: 0x61, count: n))), digest, "bytes, n = \(n)")
        }
    }

    func testMillionAAndIncrementalUpdatesAgree() {
        let million = Data(repeating: 0x61, count: 1_000_000)
        XCTAssertEqual(FixtureSHA256.hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // all byte values, fed in odd-sized chunks through both update paths
        let data = Data((0..<1024).map { UInt8($0 % 256) })
        let want = "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9"
        XCTAssertEqual(FixtureSHA256.hex(data), want)
        for chunk in [1, 7, 63, 64, 65, 200] {
            var a = FixtureSHA256(), b = FixtureSHA256()
            var offset = 0
            while offset < data.count {
                let end = min(offset + chunk, data.count)
                a.update(data: data.subdata(in: offset..<end))
                b.update(Array(data[offset..<end]))
                offset = end
            }
            XCTAssertEqual(FixtureSHA256.hexString(a.finalize()), want, "Data chunks of \(chunk)")
            XCTAssertEqual(FixtureSHA256.hexString(b.finalize()), want, "byte chunks of \(chunk)")
        }
    }
}
