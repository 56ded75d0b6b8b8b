package ai.mobilekit.qa.harness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Runs every fixture case through a {@link ModelRunner}: reads the case's inputs (size and sha256
 * checked), runs the model, checks output names and shapes against the index, writes the outputs with
 * an {@link OutputWriter}, and compares them with the goldens under the artifact's tolerance.
 * Bad fixtures are a {@link FixtureException}; a model that throws or answers with the wrong outputs
 * fails that case and the run goes on.
 */
public final class HarnessRunner {
    private final FixtureIndex index;
    private final FixtureIndex.Artifact artifact;
    private final ModelRunner model;
    private final OutputWriter writer;

    public HarnessRunner(FixtureIndex index, FixtureIndex.Artifact artifact, ModelRunner model, OutputWriter writer) {
        this.index = index;
        this.artifact = artifact;
        this.model = model;
        this.writer = writer;
    }

    /**
     * Runs all cases and writes {@code device.json} ({@code device}, {@code os}, {@code computeUnits} may be
     * null; runtime and artifact come from the model and the artifact).
     */
    public HarnessReport run(String device, String os, String computeUnits) throws FixtureException, IOException {
        writer.writeDeviceInfo(new OutputWriter.DeviceInfo(device, os, model.runtime(), artifact.path, computeUnits));
        List<HarnessReport.CaseResult> results = new ArrayList<HarnessReport.CaseResult>();
        for (FixtureIndex.Case c : index.cases) {
            results.add(runCase(c));
        }
        return new HarnessReport(artifact, model.runtime(), index.taskMetric, results);
    }

    /** One case: run, check, write, compare. */
    public HarnessReport.CaseResult runCase(FixtureIndex.Case c) throws FixtureException, IOException {
        Map<String, Float32Tensor> inputs = new LinkedHashMap<String, Float32Tensor>();
        for (FixtureIndex.TensorFile t : c.withRole(FixtureIndex.ROLE_INPUT)) {
            inputs.put(t.name, Float32Tensor.read(index.file(t), t.shape(), t.sha256));
        }
        List<String> problems = new ArrayList<String>();
        List<Comparison> comparisons = new ArrayList<Comparison>();
        Map<String, Float32Tensor> outputs;
        try {
            outputs = model.run(inputs);
        } catch (FixtureException e) {
            throw e;
        } catch (Exception e) {
            problems.add("model failed: " + e);
            return new HarnessReport.CaseResult(c.id, comparisons, problems);
        }
        if (outputs == null) {
            problems.add("model returned no outputs");
            return new HarnessReport.CaseResult(c.id, comparisons, problems);
        }
        TreeSet<String> want = new TreeSet<String>();
        for (FixtureIndex.TensorSpec s : index.outputs) {
            want.add(s.name);
        }
        TreeSet<String> got = new TreeSet<String>(outputs.keySet());
        if (!want.equals(got)) {
            problems.add("output names: index " + want + " vs model " + got);
        }
        for (FixtureIndex.TensorSpec spec : index.outputs) {
            Float32Tensor out = outputs.get(spec.name);
            if (out == null) {
                continue;
            }
            if (!out.hasShape(spec.shape())) {
                problems.add("shape of " + spec.name + ": model " + Float32Tensor.describeShape(out.shape()) + " vs index "
                        + Float32Tensor.describeShape(spec.shape()) + " (not written)");
                continue;
            }
            writer.write(c.id, spec.name, out);
            FixtureIndex.TensorFile golden = c.tensor(spec.name, FixtureIndex.ROLE_EXPECTED);
            Float32Tensor reference = Float32Tensor.read(index.file(golden), golden.shape(), golden.sha256);
            comparisons.add(Comparison.compare(spec.name, reference, out, artifact.tolerance.forOutput(spec.name)));
        }
        return new HarnessReport.CaseResult(c.id, comparisons, problems);
    }
}
