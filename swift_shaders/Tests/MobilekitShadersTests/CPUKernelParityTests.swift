import XCTest
@testable import MobilekitShaders

/// The C math (via the CPU path) against fixtures computed with TensorFlow / mobilekit/shaders/reference/.
final class CPUKernelParityTests: XCTestCase {
    func testManifestCoversEveryKernel() throws {
        let ops = Set(try Fixtures.load().map { $0.op })
        XCTAssertEqual(ops, ["erosion2d", "dilation2d", "resize_bicubic", "resize_area", "stitch", "click_maps", "depth_of_field"])
    }

    func testErosionDilationMatchTensorFlow() throws {
        for c in try Fixtures.cases("erosion2d") + Fixtures.cases("dilation2d") {
            let x = try c.inputs["x"]!.image()
            let filter = c.bool("has_filter") ? c.inputs["filter"]!.values : nil
            let kh = c.int("kernel_height"), kw = c.int("kernel_width")
            let y = c.op == "erosion2d"
                ? try MKCPU.erosion2D(x, kernelHeight: kh, kernelWidth: kw, filter: filter)
                : try MKCPU.dilation2D(x, kernelHeight: kh, kernelWidth: kw, filter: filter)
            assertClose(y, c.outputs["y"]!, atol: c.atol, c.name)
        }
    }

    func testResizeBicubicMatchesTensorFlow() throws {
        for c in try Fixtures.cases("resize_bicubic") {
            let y = try MKCPU.resizeBicubic(try c.inputs["x"]!.image(), height: c.int("height"), width: c.int("width"))
            assertClose(y, c.outputs["y"]!, atol: c.atol, c.name)
        }
    }

    func testResizeAreaMatchesTensorFlow() throws {
        for c in try Fixtures.cases("resize_area") {
            let y = try MKCPU.resizeArea(try c.inputs["x"]!.image(), height: c.int("height"), width: c.int("width"))
            assertClose(y, c.outputs["y"]!, atol: c.atol, c.name)
        }
    }

    func testStitchMatchesReference() throws {
        for c in try Fixtures.cases("stitch") {
            let y = try MKCPU.stitch(original: try c.inputs["original"]!.image(), inpainted: try c.inputs["inpainted"]!.image(),
                                     mask: try c.inputs["mask"]!.image())
            assertClose(y, c.outputs["y"]!, atol: c.atol, c.name)
        }
    }

    func testClickMapsMatchReference() throws {
        for c in try Fixtures.cases("click_maps") {
            let clicks = Fixtures.clicks(c)
            let h = c.int("height"), w = c.int("width"), t = c.float("truncate")
            assertClose(try MKCPU.clickMaps(clicks, height: h, width: w, truncate: t), c.outputs["raw"]!, atol: c.atol, c.name + ".raw")
            assertClose(try MKCPU.clickMaps(clicks, height: h, width: w, truncate: t, normalized: true), c.outputs["normalized"]!,
                        atol: c.atol, c.name + ".normalized")
        }
    }

    func testDepthOfFieldMatchesReference() throws {
        for c in try Fixtures.cases("depth_of_field") {
            let image = try c.inputs["image"]!.image(), depth = try c.inputs["depth"]!.image()
            let f = c.float("focal_depth"), s = c.float("strength"), r = c.int("max_radius")
            assertClose(try MKCPU.dofRadius(depth: depth, focalDepth: f, strength: s, maxRadius: r), c.outputs["radius"]!,
                        atol: 0, c.name + ".radius")
            assertClose(try MKCPU.depthOfField(image, depth: depth, focalDepth: f, strength: s, maxRadius: r), c.outputs["y"]!,
                        atol: c.atol, c.name)
        }
    }
}

/// Properties that do not need fixtures.
final class CPUKernelBehaviourTests: XCTestCase {
    func image(_ h: Int, _ w: Int, _ c: Int, _ f: (Int) -> Float) throws -> MKImage {
        try MKImage(height: h, width: w, channels: c, data: (0..<(h * w * c)).map(f))
    }

    func testInvalidArgumentsThrow() throws {
        let x = try image(4, 5, 1) { Float($0) }
        XCTAssertThrowsError(try MKCPU.erosion2D(x, kernelHeight: 2))
        XCTAssertThrowsError(try MKCPU.dilation2D(x, kernelHeight: 3, filter: [0, 0]))
        XCTAssertThrowsError(try MKCPU.resizeArea(x, height: 0, width: 3))
        XCTAssertThrowsError(try MKCPU.clickMaps([MKClickPoint(y: 4, x: 0, positive: true)], height: 4, width: 5))
        XCTAssertThrowsError(try MKCPU.clickMaps([], height: 4, width: 5, truncate: 0))
        XCTAssertThrowsError(try MKCPU.stitch(original: x, inpainted: x, mask: try image(4, 5, 2) { _ in 1 }))
        XCTAssertThrowsError(try MKCPU.depthOfField(x, depth: x, focalDepth: 0, strength: 1, maxRadius: -1))
        XCTAssertThrowsError(try MKImage(height: 2, width: 2, channels: 1, data: [1, 2, 3]))
    }

    func testFlatErosionIsWindowMinimumAndDilationMaximum() throws {
        let x = try image(6, 7, 2) { Float(($0 * 37) % 23) }
        let e = try MKCPU.erosion2D(x, kernelHeight: 3, kernelWidth: 5)
        let d = try MKCPU.dilation2D(x, kernelHeight: 3, kernelWidth: 5)
        for y in 0..<6 { for xx in 0..<7 { for c in 0..<2 {
            var lo = Float.infinity, hi = -Float.infinity
            for yy in max(0, y - 1)...min(5, y + 1) { for x2 in max(0, xx - 2)...min(6, xx + 2) {
                lo = min(lo, x[0, yy, x2, c]); hi = max(hi, x[0, yy, x2, c])
            } }
            XCTAssertEqual(e[0, y, xx, c], lo)
            XCTAssertEqual(d[0, y, xx, c], hi)
        } } }
    }

    func testResizeToSameSizeIsIdentity() throws {
        let x = try image(5, 6, 3) { Float($0 % 11) / 11 }
        XCTAssertEqual(try MKCPU.resizeBicubic(x, height: 5, width: 6), x)
        XCTAssertEqual(try MKCPU.resizeArea(x, height: 5, width: 6), x)
    }

    func testBinaryStitchIsExactSelect() throws {
        let a = try image(3, 4, 3) { Float($0) * 0.1 }, b = try image(3, 4, 3) { 1 - Float($0) * 0.01 }
        let m = try image(3, 4, 1) { $0 % 3 == 0 ? 1 : 0 }
        let y = try MKCPU.stitch(original: a, inpainted: b, mask: m)
        for i in 0..<(3 * 4) { for c in 0..<3 {
            XCTAssertEqual(y.data[i * 3 + c], m.data[i] == 1 ? b.data[i * 3 + c] : a.data[i * 3 + c])
        } }
    }

    func testClickMapsWithoutClicksAreTruncateEverywhere() throws {
        let raw = try MKCPU.clickMaps([], height: 3, width: 4)
        XCTAssertEqual(raw.data, [Float](repeating: 255, count: 24))
        let norm = try MKCPU.clickMaps([MKClickPoint(y: 0, x: 0, positive: false)], height: 3, width: 4, normalized: true)
        XCTAssertEqual(norm[0, 2, 3, 0], 1)
        XCTAssertEqual(norm[0, 2, 3, 1], (13 as Float).squareRoot() / 255)
    }

    func testZeroRadiusDepthOfFieldIsIdentity() throws {
        let x = try image(4, 5, 3) { Float($0) / 60 }
        let depth = try image(4, 5, 1) { _ in 0.5 }
        XCTAssertEqual(try MKCPU.depthOfField(x, depth: depth, focalDepth: 0.5, strength: 100, maxRadius: 8), x)
        XCTAssertEqual(try MKCPU.depthOfField(x, depth: depth, focalDepth: 0.0, strength: 100, maxRadius: 0), x)
    }
}
