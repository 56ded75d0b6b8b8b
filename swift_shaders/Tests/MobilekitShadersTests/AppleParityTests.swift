// Runs only where Metal / Core ML exist (macOS, iOS simulator/device): the GPU buffer kernels and
// the MLCustomLayer CPU path against the same fixtures as the C math.
#if canImport(Metal)
import Metal
import XCTest
@testable import MobilekitShaders

final class MetalParityTests: XCTestCase {
    var kernels: MKMetalKernels!

    override func setUpWithError() throws {
        guard MTLCreateSystemDefaultDevice() != nil else { throw XCTSkip("no Metal device") }
        do {
            kernels = try MKMetalKernels()
        } catch MKShaderError.libraryUnavailable(let why) {
            throw XCTSkip("Metal library unavailable: \(why)")
        }
    }

    /// GPU tolerance: exact ops as the fixtures say; resize and depth of field 1e-4 (the GPU may use
    /// fast math when Xcode compiled the library, and evaluates the bicubic table in float).
    func gpuTolerance(_ c: FixtureCase) -> Float {
        ["resize_bicubic", "resize_area", "depth_of_field"].contains(c.op) ? max(c.atol, 1e-4) : c.atol
    }

    func testMorphology() throws {
        for c in try Fixtures.cases("erosion2d") + Fixtures.cases("dilation2d") {
            let x = try c.inputs["x"]!.image()
            let filter = c.bool("has_filter") ? c.inputs["filter"]!.values : nil
            let kh = c.int("kernel_height"), kw = c.int("kernel_width")
            let y = c.op == "erosion2d"
                ? try kernels.erosion2D(x, kernelHeight: kh, kernelWidth: kw, filter: filter)
                : try kernels.dilation2D(x, kernelHeight: kh, kernelWidth: kw, filter: filter)
            assertClose(y, c.outputs["y"]!, atol: gpuTolerance(c), "gpu " + c.name)
        }
    }

    func testResize() throws {
        for c in try Fixtures.cases("resize_bicubic") + Fixtures.cases("resize_area") {
            let x = try c.inputs["x"]!.image()
            let y = c.op == "resize_bicubic"
                ? try kernels.resizeBicubic(x, height: c.int("height"), width: c.int("width"))
                : try kernels.resizeArea(x, height: c.int("height"), width: c.int("width"))
            assertClose(y, c.outputs["y"]!, atol: gpuTolerance(c), "gpu " + c.name)
        }
    }

    func testStitchClickMapsDepthOfField() throws {
        for c in try Fixtures.cases("stitch") {
            let y = try kernels.stitch(original: try c.inputs["original"]!.image(), inpainted: try c.inputs["inpainted"]!.image(),
                                       mask: try c.inputs["mask"]!.image())
            assertClose(y, c.outputs["y"]!, atol: gpuTolerance(c), "gpu " + c.name)
        }
        for c in try Fixtures.cases("click_maps") {
            let clicks = Fixtures.clicks(c)
            let h = c.int("height"), w = c.int("width"), t = c.float("truncate")
            assertClose(try kernels.clickMaps(clicks, height: h, width: w, truncate: t), c.outputs["raw"]!, atol: gpuTolerance(c), "gpu " + c.name)
            assertClose(try kernels.clickMaps(clicks, height: h, width: w, truncate: t, normalized: true), c.outputs["normalized"]!,
                        atol: gpuTolerance(c), "gpu " + c.name + ".normalized")
        }
        for c in try Fixtures.cases("depth_of_field") {
            let y = try kernels.depthOfField(try c.inputs["image"]!.image(), depth: try c.inputs["depth"]!.image(),
                                             focalDepth: c.float("focal_depth"), strength: c.float("strength"), maxRadius: c.int("max_radius"))
            assertClose(y, c.outputs["y"]!, atol: gpuTolerance(c), "gpu " + c.name)
        }
    }
}
#endif

#if canImport(CoreML) && canImport(Metal)
import CoreML

final class CoreMLLayerTests: XCTestCase {
    /// NHWC MKImage -> NCHW float32 MLMultiArray.
    func nchw(_ x: MKImage) throws -> MLMultiArray {
        let a = try MLMultiArray(shape: [x.batch, x.channels, x.height, x.width].map { NSNumber(value: $0) }, dataType: .float32)
        try MKArrayView.write(x, to: a, layout: .nchw)
        return a
    }

    func testResizeLayersEvaluateOnCPU() throws {
        for c in try Fixtures.cases("resize_bicubic") + Fixtures.cases("resize_area") {
            let x = try c.inputs["x"]!.image()
            let params: [String: Any] = ["output_height": c.int("height"), "output_width": c.int("width")]
            let layer: MLCustomLayer = c.op == "resize_bicubic" ? try MKResizeBicubic(parameters: params) : try MKResizeArea(parameters: params)
            let input = try nchw(x)
            let outShape = try layer.outputShapes(forInputShapes: [input.shape])[0]
            let output = try MLMultiArray(shape: outShape, dataType: .float32)
            try layer.evaluate(inputs: [input], outputs: [output])
            assertClose(try MKArrayView.read(output, layout: .nchw), c.outputs["y"]!, atol: c.atol, "layer " + c.name)
        }
    }

    func testMorphologyLayersEvaluateOnCPU() throws {
        for c in try Fixtures.cases("erosion2d") + Fixtures.cases("dilation2d") {
            let x = try c.inputs["x"]!.image()
            let params: [String: Any] = ["kernel_height": c.int("kernel_height"), "kernel_width": c.int("kernel_width"), "data_layout": "NCHW"]
            let layer: MLCustomLayer = c.op == "erosion2d" ? try MKErosion2D(parameters: params) : try MKDilation2D(parameters: params)
            if c.bool("has_filter") {
                let f = c.inputs["filter"]!.values
                try layer.setWeightData([f.withUnsafeBufferPointer { Data(buffer: $0) }])
            }
            let input = try nchw(x)
            let output = try MLMultiArray(shape: input.shape, dataType: .float32)
            try layer.evaluate(inputs: [input], outputs: [output])
            assertClose(try MKArrayView.read(output, layout: .nchw), c.outputs["y"]!, atol: c.atol, "layer " + c.name)
        }
    }
}
#endif
