package ai.mobilekit.qa.harness.android;

import ai.mobilekit.qa.harness.Float32Tensor;
import ai.mobilekit.qa.harness.ModelRunner;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;

/**
 * Runs a bundled {@code .tflite} with LiteRT ({@code com.google.ai.edge.litert:litert}, which keeps the
 * {@code org.tensorflow.lite} package) through its signature runner: inputs and outputs by name, as
 * direct little-endian buffers. Android only; not compiled by run-jvm-tests.sh.
 */
public final class LiteRtModelRunner implements ModelRunner, AutoCloseable {
    public static final String SERVING_DEFAULT = "serving_default";

    private final Interpreter interpreter;
    private final String signature;
    private final String runtime;

    /** {@code options} may carry threads or a delegate; {@code runtime} names it for device.json (e.g. {@code litert-cpu}). */
    public LiteRtModelRunner(File model, Interpreter.Options options, String runtime) {
        this.interpreter = new Interpreter(model, options);
        this.signature = pickSignature(interpreter.getSignatureKeys());
        this.runtime = runtime;
    }

    /** {@code serving_default}, else the model's only signature. */
    private static String pickSignature(String[] keys) {
        if (Arrays.asList(keys).contains(SERVING_DEFAULT)) {
            return SERVING_DEFAULT;
        }
        if (keys.length == 1) {
            return keys[0];
        }
        throw new IllegalArgumentException("model has no \"" + SERVING_DEFAULT + "\" signature (has " + Arrays.toString(keys) + ")");
    }

    @Override
    public Map<String, Float32Tensor> run(Map<String, Float32Tensor> inputs) {
        TreeSet<String> wanted = new TreeSet<String>(Arrays.asList(interpreter.getSignatureInputs(signature)));
        if (!wanted.equals(new TreeSet<String>(inputs.keySet()))) {
            throw new IllegalArgumentException("signature " + signature + " takes inputs " + wanted + ", fixtures have " + new TreeSet<String>(inputs.keySet()));
        }
        Map<String, Object> in = new HashMap<String, Object>();
        for (Map.Entry<String, Float32Tensor> e : inputs.entrySet()) {
            Tensor t = interpreter.getInputTensorFromSignature(e.getKey(), signature);
            requireFloat32(t, "input " + e.getKey());
            if (!e.getValue().hasShape(t.shape())) {
                throw new IllegalArgumentException("input " + e.getKey() + ": model takes " + Arrays.toString(t.shape())
                        + ", fixture has " + Arrays.toString(e.getValue().shape()));
            }
            in.put(e.getKey(), e.getValue().toDirectBuffer());
        }
        Map<String, Object> out = new LinkedHashMap<String, Object>();
        Map<String, int[]> shapes = new HashMap<String, int[]>();
        for (String name : interpreter.getSignatureOutputs(signature)) {
            Tensor t = interpreter.getOutputTensorFromSignature(name, signature);
            requireFloat32(t, "output " + name);
            shapes.put(name, t.shape());
            out.put(name, ByteBuffer.allocateDirect(t.numBytes()).order(ByteOrder.LITTLE_ENDIAN));
        }
        interpreter.runSignature(in, out, signature);
        Map<String, Float32Tensor> result = new LinkedHashMap<String, Float32Tensor>();
        for (Map.Entry<String, Object> e : out.entrySet()) {
            result.put(e.getKey(), Float32Tensor.fromBuffer((ByteBuffer) e.getValue(), shapes.get(e.getKey())));
        }
        return result;
    }

    private static void requireFloat32(Tensor t, String what) {
        if (t.dataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException(what + " is " + t.dataType() + "; the fixtures are float32");
        }
    }

    @Override
    public String runtime() {
        return runtime;
    }

    @Override
    public void close() {
        interpreter.close();
    }
}
