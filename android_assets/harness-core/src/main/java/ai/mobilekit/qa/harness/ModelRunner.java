package ai.mobilekit.qa.harness;

import java.util.Map;

/** Runs the model under test on one case: input name → tensor in, output name → tensor out. */
public interface ModelRunner {
    /** Runs one inference. Outputs must be named and shaped as the fixture index's outputs. */
    Map<String, Float32Tensor> run(Map<String, Float32Tensor> inputs) throws Exception;

    /** What ran, for {@code device.json}'s {@code runtime}, e.g. {@code litert-cpu}. */
    String runtime();
}
