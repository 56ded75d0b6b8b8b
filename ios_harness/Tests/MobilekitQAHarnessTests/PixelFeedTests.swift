import Foundation
import XCTest
@testable import MobilekitQAHarness

final class PixelFeedTests: XCTestCase {
    let s = 1.0 / 255.0

    func testPixelFormulaRoundsAndClamps() {
        XCTAssertEqual(PixelFeed.pixel(Float(128.0 / 255.0), scale: s, bias: 0), 128)
        XCTAssertEqual(PixelFeed.pixel(1, scale: s, bias: 0), 255)
        XCTAssertEqual(PixelFeed.pixel(-0.1, scale: s, bias: 0), 0)
        XCTAssertEqual(PixelFeed.pixel(1.5, scale: s, bias: 0), 255)
        XCTAssertEqual(PixelFeed.pixel(.nan, scale: s, bias: 0), 0)
        XCTAssertEqual(PixelFeed.pixel(.infinity, scale: s, bias: 0), 255)
        XCTAssertEqual(PixelFeed.pixel(0.5012, scale: s, bias: 0), 128)  // 127.806 → 128
        // (value - bias) / scale with bias: value = pixel * (2/255) - 1
        XCTAssertEqual(PixelFeed.pixel(0, scale: 2.0 / 255.0, bias: -1), 128)  // 127.5 → 128 (half to even)
        XCTAssertEqual(PixelFeed.pixel(Float(2.0 * 3.0 / 255.0 - 1), scale: 2.0 / 255.0, bias: -1), 3)
        XCTAssertEqual(PixelFeed.pixel(2.5, scale: 1, bias: 0), 2)  // half to even, as np.rint
        XCTAssertEqual(PixelFeed.pixel(3.5, scale: 1, bias: 0), 4)
    }

    func testRGBGoesToBGRAAndBGRKeepsOrder() throws {
        // 1×1×2 image, NHWC, channels (c0, c1, c2) = (10, 20, 30) and (40, 50, 60) pixels
        let values: [Float] = [10, 20, 30, 40, 50, 60].map { Float(Double($0) / 255.0) }
        let tensor = try Tensor(shape: [1, 1, 2, 3], values: values)
        let rgb = try PixelFeed.image(from: tensor, scale: s, bias: 0, layout: .rgb)
        XCTAssertEqual(rgb.format, .bgra32)
        XCTAssertEqual([rgb.width, rgb.height, rgb.bytesPerRow], [2, 1, 8])
        XCTAssertEqual(rgb.bytes, [30, 20, 10, 255, 60, 50, 40, 255])  // B G R A
        XCTAssertEqual(rgb.pixel(x: 1, y: 0), [60, 50, 40, 255])
        let bgr = try PixelFeed.image(from: tensor, scale: s, bias: 0, layout: .bgr)
        XCTAssertEqual(bgr.bytes, [10, 20, 30, 255, 40, 50, 60, 255])  // stored channel 0 is blue
    }

    func testRowMajorGeometryAndChannelFirst() throws {
        // 2 rows × 3 columns, value = pixel index (y * 3 + x) in every channel
        let nhwc = try Tensor(shape: [1, 2, 3, 3], values: (0..<6).flatMap { p in [Float](repeating: Float(Double(p) / 255.0), count: 3) })
        let image = try PixelFeed.image(from: nhwc, scale: s, bias: 0, layout: .rgb)
        XCTAssertEqual([image.width, image.height], [3, 2])
        XCTAssertEqual(image.pixel(x: 2, y: 1), [5, 5, 5, 255])
        XCTAssertEqual(image.pixel(x: 0, y: 1), [3, 3, 3, 255])
        // NCHW: channel planes; R plane = 1, G = 2, B = 3
        let nchw = try Tensor(shape: [1, 3, 2, 2], values: [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3].map { Float(Double($0) / 255.0) })
        XCTAssertEqual(try PixelFeed.image(from: nchw, scale: s, bias: 0, layout: .rgb).pixel(x: 1, y: 1), [3, 2, 1, 255])
        let gray = try PixelFeed.image(from: try Tensor(shape: [1, 2, 2, 1], values: [0, 1, 0.5, 2]), scale: 1, bias: 0, layout: .grayscale)
        XCTAssertEqual(gray.format, .gray8)
        XCTAssertEqual(gray.bytes, [0, 1, 0, 2])  // 0.5 → 0 (half to even)
    }

    func testBadShapesAndLayoutsAreErrors() throws {
        XCTAssertThrowsHarnessError(try PixelFeed.image(from: try Tensor(shape: [2, 1, 1, 3], values: [Float](repeating: 0, count: 6)),
                                                        scale: s, bias: 0, layout: .rgb), containing: ["batch must be 1"])
        XCTAssertThrowsHarnessError(try PixelFeed.image(from: try Tensor(shape: [1, 2, 2, 2], values: [Float](repeating: 0, count: 8)),
                                                        scale: s, bias: 0, layout: .rgb), containing: ["no 3-channel axis"])
        XCTAssertThrowsHarnessError(try PixelFeed.image(from: try Tensor(shape: [1, 1, 1, 3], values: [0, 0, 0]), scale: 0, bias: 0, layout: .rgb),
                                    containing: ["scale"])
        XCTAssertThrowsHarnessError(try ColorLayout(parsing: "GRAYSCALE_FLOAT16"), containing: ["GRAYSCALE_FLOAT16"])
        XCTAssertEqual(try ColorLayout(parsing: "rgb"), .rgb)
    }

    func testGridValuesRoundTripExactlyAndIndexSpecFeeds() throws {
        let grid = try Tensor(shape: [1, 16, 16, 1], values: (0..<256).map { Float(Double($0) * (1.0 / 255.0)) })
        XCTAssertEqual(PixelFeed.maxRoundTripError(grid, scale: s, bias: 0), 0)
        XCTAssertEqual(try PixelFeed.image(from: grid, scale: s, bias: 0, layout: .grayscale).bytes, (0..<256).map { UInt8($0) })
        let off = try Tensor(shape: [1, 1, 1, 1], values: [0.5012])
        XCTAssertGreaterThan(PixelFeed.maxRoundTripError(off, scale: s, bias: 0), 1e-4)

        let index = try FixtureIndex.decode(try FixtureTree.indexJSON())
        let image = try Tensor(shape: [1, FixtureTree.h, FixtureTree.w, 3], values: (0..<(FixtureTree.h * FixtureTree.w * 3)).map { Float(Double($0) / 255.0) })
        let fed = try PixelFeed.image(from: image, input: index.inputs[0])
        XCTAssertEqual(fed.pixel(x: 0, y: 0), [2, 1, 0, 255])
    }
}
