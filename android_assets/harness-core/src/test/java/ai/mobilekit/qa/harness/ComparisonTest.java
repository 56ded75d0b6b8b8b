package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

public class ComparisonTest {
    private static Float32Tensor t(float... v) {
        return new Float32Tensor(new int[] {1, v.length}, v);
    }

    private static final Tolerance LOOSE = Tolerance.of(null, null);

    @Test
    public void identicalTensorsAreExact() {
        Comparison c = Comparison.compare("mask", t(0f, 0.5f, 1f), t(0f, 0.5f, 1f), Tolerance.of(1e-4, 60.0));
        assertTrue(c.passed);
        assertEquals(0.0, c.maxAbs, 0);
        assertEquals(0.0, c.meanAbs, 0);
        assertNull(c.psnr);
        assertEquals("mask max_abs 0, psnr exact", c.summary());
    }

    @Test
    public void metricsFollowParityMetricsPy() {
        // numpy: diff [0,0,0,0.5]; mean_abs 0.125; mse 0.0625; peak = max - min = 3; psnr = 10 log10(9 / 0.0625)
        Comparison c = Comparison.compare("y", t(0f, 1f, 2f, 3f), t(0f, 1f, 2f, 3.5f), LOOSE);
        assertEquals(0.5, c.maxAbs, 1e-12);
        assertEquals(0.125, c.meanAbs, 1e-12);
        assertEquals(21.583624920952495, c.psnr, 1e-9);
        assertTrue(c.passed);
    }

    @Test
    public void constantReferenceUsesItsMagnitudeOrOneAsPeak() {
        // peak = max(max |ref|, 1): 4 here, so psnr = 10 log10(16 / 1)
        assertEquals(12.041199826559248, Comparison.compare("y", t(4f, 4f), t(5f, 5f), LOOSE).psnr, 1e-9);
        // ref all 0.5: peak 1, mse 0.25 -> 10 log10(4)
        assertEquals(6.020599913279624, Comparison.compare("y", t(0.5f, 0.5f), t(1f, 0f), LOOSE).psnr, 1e-9);
    }

    @Test
    public void maxAbsGateIsInclusive() {
        Tolerance gate = Tolerance.of(0.5, null);
        assertTrue(Comparison.compare("y", t(0f, 1f), t(0.5f, 1f), gate).passed);
        Comparison over = Comparison.compare("y", t(0f, 1f), t(0.75f, 1f), gate);
        assertFalse(over.passed);
        assertEquals(Arrays.asList("max_abs 0.75 > 0.5"), over.failures);
        assertEquals("y: max_abs 0.75 > 0.5", over.summary());
    }

    @Test
    public void minPsnrAndMeanAbsGates() {
        Comparison c = Comparison.compare("y", t(0f, 1f, 2f, 3f), t(0f, 1f, 2f, 3.5f), Tolerance.of(null, 30.0));
        assertFalse(c.passed);
        assertEquals(Arrays.asList("psnr 21.6 dB < 30.0 dB"), c.failures);
        assertTrue(Comparison.compare("y", t(0f, 1f, 2f, 3f), t(0f, 1f, 2f, 3.5f), Tolerance.of(null, 20.0)).passed);
        Tolerance mean = new Tolerance(null, 0.1, null, null, null, null);
        assertEquals(Arrays.asList("mean_abs 0.125 > 0.1"), Comparison.compare("y", t(0f, 1f, 2f, 3f), t(0f, 1f, 2f, 3.5f), mean).failures);
    }

    @Test
    public void nonFiniteValuesAndShapeMismatchesFail() {
        Comparison nan = Comparison.compare("y", t(0f, 1f), t(Float.NaN, 1f), LOOSE);
        assertFalse(nan.passed);
        assertEquals(Arrays.asList("candidate output contains NaN/Inf"), nan.failures);
        assertTrue(Double.isNaN(nan.maxAbs));
        assertFalse(Comparison.compare("y", t(Float.POSITIVE_INFINITY, 1f), t(0f, 1f), LOOSE).passed);
        Comparison shape = Comparison.compare("y", t(0f, 1f), t(0f, 1f, 2f), LOOSE);
        assertFalse(shape.passed);
        assertEquals(Arrays.asList("shape 1×3 vs reference 1×2"), shape.failures);
    }

    @Test
    public void formatsNumbersLikePythonDot3g() {
        String[][] cases = {
            {"0.0001", "1e-4"}, {"1.5e-05", "1.5e-5"}, {"0.5", "0.5"}, {"1.23e+04", "12345"}, {"100", "100"},
            {"0.001", "0.001"}, {"1.2e-07", "1.2e-7"}, {"0.000123", "0.000123456"}, {"-2.5", "-2.5"}, {"1e+03", "999.9"},
        };
        for (String[] c : cases) {
            assertEquals(c[1], c[0], Comparison.format(Double.parseDouble(c[1])));
        }
        assertEquals("0", Comparison.format(0));
        assertEquals("nan", Comparison.format(Double.NaN));
    }
}
