package ai.mobilekit.qa.harness;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * One output of one case compared with its reference, with the metrics of mobilekit/parity/metrics.py
 * (computed in double precision): {@code max_abs}, {@code mean_abs} and {@code psnr} in dB over the
 * reference's dynamic range (max − min; when that is 0, max(max |reference|, 1)); psnr is null when the
 * tensors are identical. It passes when shapes agree, both are finite, and the gate's {@code max_abs},
 * {@code mean_abs} and {@code min_psnr} (each when set) hold, as in mobilekit/parity/compare.py.
 * Task metrics (mask IoU, …) are not computed here: {@code mobilekit qa ingest} judges them.
 */
public final class Comparison {
    public final String output;
    public final boolean passed;
    /** NaN when not computed (shape mismatch or non-finite values). */
    public final double maxAbs;
    public final double meanAbs;
    /** Null when the tensors are identical (infinite PSNR) or not computed. */
    public final Double psnr;
    public final List<String> failures;

    private Comparison(String output, double maxAbs, double meanAbs, Double psnr, List<String> failures) {
        this.output = output;
        this.maxAbs = maxAbs;
        this.meanAbs = meanAbs;
        this.psnr = psnr;
        this.failures = Collections.unmodifiableList(failures);
        this.passed = failures.isEmpty();
    }

    /** Compares {@code candidate} with {@code reference} under {@code gate} (use {@link Tolerance#forOutput}). */
    public static Comparison compare(String output, Float32Tensor reference, Float32Tensor candidate, Tolerance gate) {
        List<String> failures = new ArrayList<String>();
        if (!reference.hasShape(candidate.shape())) {
            failures.add("shape " + Float32Tensor.describeShape(candidate.shape()) + " vs reference " + Float32Tensor.describeShape(reference.shape()));
            return new Comparison(output, Double.NaN, Double.NaN, null, failures);
        }
        float[] ref = reference.data();
        float[] cand = candidate.data();
        if (!allFinite(ref)) {
            failures.add("reference output contains NaN/Inf");
            return new Comparison(output, Double.NaN, Double.NaN, null, failures);
        }
        if (!allFinite(cand)) {
            failures.add("candidate output contains NaN/Inf");
            return new Comparison(output, Double.NaN, Double.NaN, null, failures);
        }
        double maxAbs = 0;
        double sumAbs = 0;
        double sumSq = 0;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        double refMaxMagnitude = 0;
        for (int i = 0; i < ref.length; i++) {
            double r = ref[i];
            double d = Math.abs((double) cand[i] - r);
            maxAbs = Math.max(maxAbs, d);
            sumAbs += d;
            sumSq += d * d;
            lo = Math.min(lo, r);
            hi = Math.max(hi, r);
            refMaxMagnitude = Math.max(refMaxMagnitude, Math.abs(r));
        }
        int n = ref.length;
        double meanAbs = n > 0 ? sumAbs / n : 0.0;
        double mse = n > 0 ? sumSq / n : 0.0;
        double peak = n > 0 ? hi - lo : 0.0;
        if (!(peak > 0)) {
            peak = Math.max(refMaxMagnitude, 1.0);
        }
        Double psnr = mse == 0.0 ? null : Double.valueOf(10.0 * Math.log10(peak * peak / mse));

        if (gate.maxAbs != null && maxAbs > gate.maxAbs) {
            failures.add("max_abs " + format(maxAbs) + " > " + format(gate.maxAbs));
        }
        if (gate.meanAbs != null && meanAbs > gate.meanAbs) {
            failures.add("mean_abs " + format(meanAbs) + " > " + format(gate.meanAbs));
        }
        if (gate.minPsnr != null && psnr != null && psnr < gate.minPsnr) {
            failures.add(String.format(Locale.ROOT, "psnr %.1f dB < %.1f dB", psnr, gate.minPsnr));
        }
        return new Comparison(output, maxAbs, meanAbs, psnr, failures);
    }

    /** E.g. {@code mask max_abs 1.2e-07, psnr 131.4 dB} or {@code mask: max_abs 0.5 > 0.0001}. */
    public String summary() {
        if (!passed) {
            StringBuilder sb = new StringBuilder(output).append(": ");
            for (int i = 0; i < failures.size(); i++) {
                sb.append(i > 0 ? "; " : "").append(failures.get(i));
            }
            return sb.toString();
        }
        return output + " max_abs " + format(maxAbs) + ", psnr " + (psnr == null ? "exact" : String.format(Locale.ROOT, "%.1f dB", psnr));
    }

    private static boolean allFinite(float[] values) {
        for (float v : values) {
            if (Float.isNaN(v) || Float.isInfinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** A number with 3 significant digits as Python's {@code format(x, ".3g")} writes it: 0.0001, 1.5e-05, 0.5, 1.23e+04. */
    public static String format(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        if (x == 0) {
            return (1 / x < 0) ? "-0" : "0";
        }
        BigDecimal r = new BigDecimal(x).round(new MathContext(3, RoundingMode.HALF_EVEN));
        int exp = r.precision() - r.scale() - 1;
        if (exp >= -4 && exp < 3) {
            return strip(r.setScale(Math.max(0, 2 - exp), RoundingMode.HALF_EVEN).toPlainString());
        }
        String mantissa = strip(r.movePointLeft(exp).toPlainString());
        return mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static String strip(String plain) {
        if (plain.indexOf('.') < 0) {
            return plain;
        }
        int end = plain.length();
        while (plain.charAt(end - 1) == '0') {
            end--;
        }
        if (plain.charAt(end - 1) == '.') {
            end--;
        }
        return plain.substring(0, end);
    }
}
