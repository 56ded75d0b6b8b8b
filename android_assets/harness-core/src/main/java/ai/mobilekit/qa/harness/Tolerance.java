package ai.mobilekit.qa.harness;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An artifact's parity gate as the fixture index lists it (the build-time gate's tolerance). Unset
 * bounds are null and not checked. {@code outputs} replaces the whole gate for the outputs it names
 * (as {@code Tolerance.for_output} in mobilekit/core/config.py). The task-metric bounds are carried for
 * the report only: task metrics are judged by {@code mobilekit qa ingest}.
 */
public final class Tolerance {
    public final Double maxAbs;
    public final Double meanAbs;
    public final Double minPsnr;
    public final Double minTaskMetric;
    public final Double maxTaskMetric;
    public final Map<String, Tolerance> outputs;

    public Tolerance(Double maxAbs, Double meanAbs, Double minPsnr, Double minTaskMetric, Double maxTaskMetric,
                     Map<String, Tolerance> outputs) {
        this.maxAbs = maxAbs;
        this.meanAbs = meanAbs;
        this.minPsnr = minPsnr;
        this.minTaskMetric = minTaskMetric;
        this.maxTaskMetric = maxTaskMetric;
        this.outputs = outputs == null ? Collections.<String, Tolerance>emptyMap()
                : Collections.unmodifiableMap(new LinkedHashMap<String, Tolerance>(outputs));
    }

    /** A gate with only {@code max_abs} (and optionally {@code min_psnr}). */
    public static Tolerance of(Double maxAbs, Double minPsnr) {
        return new Tolerance(maxAbs, null, minPsnr, null, null, null);
    }

    /** The gate for one output: its {@code outputs} entry when there is one, else this gate. */
    public Tolerance forOutput(String name) {
        Tolerance own = outputs.get(name);
        return own != null ? own : this;
    }

    /** Whether any bound is checked on the device ({@code max_abs}, {@code mean_abs}, {@code min_psnr}). */
    public boolean checksValues() {
        return maxAbs != null || meanAbs != null || minPsnr != null;
    }

    /** E.g. {@code max_abs 0.0001, min_task_metric 0.999}. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        append(sb, "max_abs", maxAbs);
        append(sb, "mean_abs", meanAbs);
        append(sb, "min_psnr", minPsnr);
        append(sb, "min_task_metric", minTaskMetric);
        append(sb, "max_task_metric", maxTaskMetric);
        if (!outputs.isEmpty()) {
            sb.append(sb.length() > 0 ? ", " : "").append("per output: ").append(outputs.keySet());
        }
        return sb.length() > 0 ? sb.toString() : "no bounds";
    }

    private static void append(StringBuilder sb, String key, Double value) {
        if (value != null) {
            sb.append(sb.length() > 0 ? ", " : "").append(key).append(' ').append(Comparison.format(value));
        }
    }
}
