package ai.mobilekit.qa.harness;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stand-in model that answers each case with its golden (expected) outputs, for round-trip tests of
 * the harness and of {@code qa ingest} without a device. The case is recognised from the inputs it is
 * given (their SHA-256 against the index), so feeding a case the wrong inputs shows up as a failure.
 * An optional {@link Perturbation} adds a constant to every value of one output of one case.
 */
public final class GoldenReplayRunner implements ModelRunner {
    public static final String RUNTIME = "golden-replay";

    /** Adds {@code delta} to every value of {@code output} in case {@code caseId}. */
    public static final class Perturbation {
        public final String caseId;
        public final String output;
        public final float delta;

        public Perturbation(String caseId, String output, float delta) {
            this.caseId = caseId;
            this.output = output;
            this.delta = delta;
        }

        /** Parses {@code CASE:OUTPUT:DELTA}, e.g. {@code case-001:mask:0.5}. */
        public static Perturbation parse(String spec) {
            String[] parts = spec.split(":", -1);
            if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new IllegalArgumentException("--perturb " + spec + ": expected CASE:OUTPUT:DELTA, e.g. case-001:mask:0.5");
            }
            float delta;
            try {
                delta = Float.parseFloat(parts[2]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--perturb " + spec + ": DELTA \"" + parts[2] + "\" is not a number");
            }
            if (Float.isNaN(delta) || Float.isInfinite(delta)) {
                throw new IllegalArgumentException("--perturb " + spec + ": DELTA must be finite");
            }
            return new Perturbation(parts[0], parts[1], delta);
        }
    }

    private final FixtureIndex index;
    private final Map<String, List<FixtureIndex.Case>> byInputs = new HashMap<String, List<FixtureIndex.Case>>();
    private final List<Perturbation> perturbations;

    public GoldenReplayRunner(FixtureIndex index) throws FixtureException {
        this(index, Collections.<Perturbation>emptyList());
    }

    /** Checks that every perturbation names a case and an output of the index, and a case the replay can tell apart. */
    public GoldenReplayRunner(FixtureIndex index, List<Perturbation> perturbations) throws FixtureException {
        this.index = index;
        this.perturbations = new ArrayList<Perturbation>(perturbations);
        for (FixtureIndex.Case c : index.cases) {
            String key = keyOf(c);
            List<FixtureIndex.Case> same = byInputs.get(key);
            if (same == null) {
                same = new ArrayList<FixtureIndex.Case>();
                byInputs.put(key, same);
            }
            same.add(c);
        }
        for (Perturbation p : perturbations) {
            FixtureIndex.Case c = index.findCase(p.caseId);
            if (c == null) {
                throw new FixtureException("--perturb: no case \"" + p.caseId + "\" in " + index.source);
            }
            if (index.output(p.output) == null) {
                throw new FixtureException("--perturb: no output \"" + p.output + "\" in " + index.source);
            }
            List<FixtureIndex.Case> same = byInputs.get(keyOf(c));
            if (same.size() > 1) {
                throw new FixtureException("--perturb: " + p.caseId + " has the same inputs as " + same.get(0).id
                        + " in " + index.source + "; the replay cannot tell them apart");
            }
        }
    }

    @Override
    public Map<String, Float32Tensor> run(Map<String, Float32Tensor> inputs) throws FixtureException {
        Map<String, String> sums = new HashMap<String, String>();
        for (Map.Entry<String, Float32Tensor> e : inputs.entrySet()) {
            sums.put(e.getKey(), Float32Tensor.sha256(e.getValue().encode()));
        }
        List<FixtureIndex.Case> matches = byInputs.get(key(sums));
        if (matches == null) {
            throw new IllegalArgumentException("golden replay: these inputs " + inputs.keySet() + " match no case of " + index.source);
        }
        FixtureIndex.Case c = matches.get(0);
        Map<String, Float32Tensor> out = new LinkedHashMap<String, Float32Tensor>();
        for (FixtureIndex.TensorFile t : c.withRole(FixtureIndex.ROLE_EXPECTED)) {
            Float32Tensor golden = Float32Tensor.read(index.file(t), t.shape(), t.sha256);
            for (Perturbation p : perturbations) {
                if (p.caseId.equals(c.id) && p.output.equals(t.name)) {
                    float[] v = golden.data();
                    for (int i = 0; i < v.length; i++) {
                        v[i] += p.delta;
                    }
                }
            }
            out.put(t.name, golden);
        }
        return out;
    }

    @Override
    public String runtime() {
        return RUNTIME;
    }

    private static String keyOf(FixtureIndex.Case c) {
        Map<String, String> sums = new HashMap<String, String>();
        for (FixtureIndex.TensorFile t : c.withRole(FixtureIndex.ROLE_INPUT)) {
            sums.put(t.name, t.sha256);
        }
        return key(sums);
    }

    private static String key(Map<String, String> sums) {
        List<String> names = new ArrayList<String>(sums.keySet());
        Collections.sort(names);
        StringBuilder sb = new StringBuilder();
        for (String n : names) {
            sb.append(n).append('=').append(sums.get(n)).append(';');
        }
        return sb.toString();
    }
}
