import Foundation

/// The metrics of one output of one case, and the verdict under the artifact's tolerance.
/// Same definitions as mobilekit/parity/metrics.py (`compare_values`) and the gate of
/// mobilekit/parity/compare.py (`_gate`), computed in Double:
///
/// - `maxAbs`, `meanAbs`: of |candidate − reference|;
/// - `psnr`: 10·log10(peak² / mse) dB, peak = the reference's dynamic range (max − min), or
///   max(max |reference|, 1) when the reference is constant; nil when the arrays are identical
///   (mse 0: "exact", never fails a `min_psnr`).
///
/// Gate: `max_abs`, `mean_abs`, `min_psnr` when the tolerance sets them; NaN/Inf in either tensor
/// fails; names and shapes must match. Task metrics (`min_task_metric`, e.g. mask IoU) and the
/// all-cases comparison are judged by `mobilekit qa ingest`, not here.
public struct OutputComparison: Codable, Equatable, Sendable {
    public let name: String
    public let passed: Bool
    public let maxAbs: Double?
    public let meanAbs: Double?
    public let psnr: Double?
    public let failures: [String]

    enum CodingKeys: String, CodingKey {
        case name, passed, maxAbs = "max_abs", meanAbs = "mean_abs", psnr, failures
    }

    /// "mask max_abs 0 (psnr exact)" or "mask: max_abs 0.5 > 0.0001".
    public var summary: String {
        if passed {
            let psnrText = psnr.map { "psnr \(Format.g($0, 4)) dB" } ?? "psnr exact"
            return "\(name) max_abs \(maxAbs.map { Format.g($0) } ?? "-") (\(psnrText))"
        }
        return "\(name): " + failures.joined(separator: "; ")
    }
}

public enum Comparison {
    public struct Metrics: Equatable, Sendable {
        public let maxAbs: Double
        public let meanAbs: Double
        /// nil when identical (mse == 0).
        public let psnr: Double?
    }

    /// Metrics of two equally long value arrays (metrics.py's `compare_values`, minus max_rel/cosine);
    /// arrays of different lengths get infinite errors.
    public static func metrics(reference: [Float], candidate: [Float]) -> Metrics {
        guard reference.count == candidate.count else { return Metrics(maxAbs: .infinity, meanAbs: .infinity, psnr: -.infinity) }
        guard !reference.isEmpty else { return Metrics(maxAbs: 0, meanAbs: 0, psnr: nil) }
        var maxAbs = 0.0, sumAbs = 0.0, sumSq = 0.0
        var refMin = Double.infinity, refMax = -Double.infinity, refAbsMax = 0.0
        for i in reference.indices {
            let r = Double(reference[i]), c = Double(candidate[i])
            let d = abs(c - r)
            maxAbs = max(maxAbs, d)
            sumAbs += d
            sumSq += d * d
            refMin = min(refMin, r)
            refMax = max(refMax, r)
            refAbsMax = max(refAbsMax, abs(r))
        }
        let n = Double(reference.count)
        let mse = sumSq / n
        var peak = refMax - refMin
        if !(peak > 0) { peak = max(refAbsMax, 1.0) }
        let psnr: Double? = mse == 0 ? nil : 10 * log10(peak * peak / mse)
        return Metrics(maxAbs: maxAbs, meanAbs: sumAbs / n, psnr: psnr)
    }

    /// Compare one output (shape, finiteness, then values under `tolerance.forOutput(name)`).
    public static func compare(name: String, reference: Tensor, candidate: Tensor,
                               tolerance: FixtureIndex.Tolerance) -> OutputComparison {
        func fail(_ why: String) -> OutputComparison {
            OutputComparison(name: name, passed: false, maxAbs: nil, meanAbs: nil, psnr: nil, failures: [why])
        }
        guard reference.shape == candidate.shape else {
            return fail("shape \(candidate.shape), expected \(reference.shape)")
        }
        guard reference.values.allSatisfy(\.isFinite) else { return fail("reference output contains NaN/Inf") }
        guard candidate.values.allSatisfy(\.isFinite) else { return fail("candidate output contains NaN/Inf") }
        let m = metrics(reference: reference.values, candidate: candidate.values)
        let gate = tolerance.forOutput(name)
        var failures: [String] = []
        if let bound = gate.maxAbs, m.maxAbs > bound { failures.append("max_abs \(Format.g(m.maxAbs)) > \(Format.g(bound))") }
        if let bound = gate.meanAbs, m.meanAbs > bound { failures.append("mean_abs \(Format.g(m.meanAbs)) > \(Format.g(bound))") }
        if let bound = gate.minPsnr, let psnr = m.psnr, psnr < bound {
            failures.append("psnr \(String(format: "%.1f", psnr)) dB < \(String(format: "%.1f", bound)) dB")
        }
        return OutputComparison(name: name, passed: failures.isEmpty, maxAbs: m.maxAbs, meanAbs: m.meanAbs, psnr: m.psnr, failures: failures)
    }
}
